/* usb_storage.c: USB mass storage through the Bulk-Only Transport (USB Mass Storage Class
 * Bulk-Only Transport 1.0, "BOT") with the SCSI commands of a direct-access disk (SPC-4, SBC-3),
 * on top of xhci.c's control and bulk transfers; the wrappers and parsers are in scsi.c.
 *
 * Each command is CBW on bulk OUT, data, CSW on bulk IN (BOT 5.3). A stalled data phase has its
 * halt cleared and the CSW is read anyway (BOT 6.7.2, 6.7.3); a CSW that does not arrive, is not
 * valid or not meaningful, or says phase error, calls for reset recovery (BOT 5.3.4: Bulk-Only
 * Mass Storage Reset, then CLEAR_FEATURE(ENDPOINT_HALT) on both bulk endpoints). A command that
 * fails (CSW status 1) is followed by REQUEST SENSE, and the sense key decides whether to try
 * again (unit attention, becoming ready) or give up (scsi.c, scsi_sense_action).
 *
 * Every LUN that is a direct-access device with 512- or 4096-byte blocks is registered with
 * blk.c. Reads and writes go as READ(10)/WRITE(10) of at most 64 KiB each, so LBAs must fit in
 * 32 bits: a larger disk is used up to 2^32 blocks and the kernel says so. */
#include "defs.h"
#include "usb.h"
#include "x86.h"

#define MAX_MSC 4                 /* devices */
#define MAX_LUNS 4                /* LUNs over all devices */
#define MAX_LUN_PER_DEV 3
#define DATA_TIMEOUT_MS 10000     /* one CBW or one 64 KiB data phase */
#define CSW_TIMEOUT_MS 30000      /* the CSW comes when the command is done: a cache flush takes long */
#define READY_TIMEOUT_MS 10000    /* for TEST UNIT READY to pass after power-on or reset */
#define RETRIES 5
#define CHUNK 65536u

struct msc {
	struct usbdev *u;
	uint8_t iface;
	uint32_t tag;
	int busy;                 /* a command is between its CBW and its CSW */
	uint8_t *cbw, *csw, *data;   /* one page: CBW at 0, CSW at 64, small replies at 128 */
	char name[40];
};

struct lun {
	struct blkdev blk;
	struct msc *m;
	uint8_t lun;
	int no_sync;              /* SYNCHRONIZE CACHE is not supported: the device writes through */
};

static struct msc mscs[MAX_MSC];
static int nmscs;
static struct lun luns[MAX_LUNS];
static int nluns;
static const struct blk_ops ops;

/* Reset recovery (BOT 5.3.4). */
static int reset_recovery(struct msc *m)
{
	uint32_t done;
	int r = 0;

	kprintf("%s: reset recovery\n", m->name);
	if (usb_control(m->u, USB_RT_CLASS | USB_RT_INTERFACE, BOT_REQ_RESET, 0, m->iface, NULL, 0, &done) != USB_OK)
		r = -1;
	if (usb_clear_halt(m->u, 1) < 0 || usb_clear_halt(m->u, 0) < 0)
		r = -1;
	m->busy = 0;
	return r;
}

/* One command through the three BOT phases. Returns the CSW status (CSW_PASSED or CSW_FAILED),
 * or -1 when the transport failed (and was reset); *moved: data bytes moved. */
static int bot_command(struct msc *m, uint8_t lun, const uint8_t *cdb, int cdb_len, int dir, void *buf,
		       uint32_t len, uint32_t *moved)
{
	uint32_t tag = ++m->tag, done = 0, residue = 0;
	int r, st;

	*moved = 0;
	if (bot_cbw(m->cbw, tag, len, dir, lun, cdb, (uint8_t)cdb_len) < 0)
		panic("%s: bad CBW", m->name);
	m->busy = 1;
	r = usb_bulk(m->u, 0, m->cbw, CBW_LEN, &done, DATA_TIMEOUT_MS);
	if (r != USB_OK || done != CBW_LEN) {
		/* A device that refuses a CBW wants reset recovery (BOT 6.6.1). */
		kprintf("%s: CBW not taken (%d)\n", m->name, r);
		reset_recovery(m);
		return -1;
	}
	if (len) {
		r = usb_bulk(m->u, dir == BOT_DIR_IN, buf, len, &done, DATA_TIMEOUT_MS);
		if (r == USB_STALL) {
			/* The device ends the data phase early by stalling: clear it, the CSW follows. */
			if (usb_clear_halt(m->u, dir == BOT_DIR_IN) < 0) {
				reset_recovery(m);
				return -1;
			}
		} else if (r != USB_OK) {
			reset_recovery(m);
			return -1;
		}
		*moved = done;
	}
	r = usb_bulk(m->u, 1, m->csw, CSW_LEN, &done, CSW_TIMEOUT_MS);
	if (r == USB_STALL) {
		/* A stalled CSW read: clear the halt and read it once more (BOT 5.3.3, figure 2). */
		if (usb_clear_halt(m->u, 1) == 0)
			r = usb_bulk(m->u, 1, m->csw, CSW_LEN, &done, CSW_TIMEOUT_MS);
	}
	if (r != USB_OK) {
		reset_recovery(m);
		return -1;
	}
	st = bot_csw(m->csw, done, tag, len, &residue);
	if (st == CSW_INVALID || st == CSW_PHASE_ERROR) {
		kprintf("%s: %s CSW (tag %u)\n", m->name, st == CSW_INVALID ? "invalid" : "phase error", tag);
		reset_recovery(m);
		return -1;
	}
	m->busy = 0;
	/* The residue is what the device did not move; the controller's count says the same or
	 * less. Trust the smaller. */
	if (len - residue < *moved)
		*moved = len - residue;
	return st;
}

/* A command and, when it fails, REQUEST SENSE. 0: passed; 1: failed, *sense says why; -1: the
 * transport failed. */
static int scsi_once(struct lun *l, const uint8_t *cdb, int cdb_len, int dir, void *buf, uint32_t len,
		     uint32_t *moved, struct scsi_sense *sense)
{
	uint8_t rs[16];
	uint32_t got;
	int st = bot_command(l->m, l->lun, cdb, cdb_len, dir, buf, len, moved);

	memset(sense, 0, sizeof *sense);
	if (st != CSW_FAILED)
		return st < 0 ? -1 : 0;
	scsi_cdb_simple(rs, SCSI_REQUEST_SENSE, 18);
	if (bot_command(l->m, l->lun, rs, 6, BOT_DIR_IN, l->m->data, 18, &got) != CSW_PASSED ||
	    scsi_parse_sense(l->m->data, got, sense) < 0)
		sense->key = SENSE_NO_SENSE;   /* no sense to be had: "failed, say no more" */
	return 1;
}

/* A command with the retries its sense data calls for; `what` names it in messages. */
static int scsi(struct lun *l, const char *what, const uint8_t *cdb, int cdb_len, int dir, void *buf, uint32_t len,
		uint32_t *moved, struct scsi_sense *last)
{
	struct scsi_sense sense;

	for (int attempt = 0; attempt < RETRIES; attempt++) {
		int r = scsi_once(l, cdb, cdb_len, dir, buf, len, moved, &sense);

		if (last)
			*last = sense;
		if (r == 0)
			return 0;
		if (r == 1) {
			int act = scsi_sense_action(&sense);
			if (act == SENSE_ACT_OK)
				return 0;
			if (act == SENSE_ACT_FAIL) {
				kprintf("%s: %s failed: %s, ASC %02x ASCQ %02x\n", l->blk.name, what,
					scsi_sense_key_name(sense.key), sense.asc, sense.ascq);
				return -1;
			}
		}
		delay_ms(20);
	}
	kprintf("%s: %s failed %d times; giving up\n", l->blk.name, what, RETRIES);
	return -1;
}

static int wait_ready(struct lun *l)
{
	uint8_t cdb[16];
	uint32_t moved;
	uint64_t start = rdtsc();
	struct scsi_sense sense;

	scsi_cdb_simple(cdb, SCSI_TEST_UNIT_READY, 0);
	for (;;) {
		int r = scsi_once(l, cdb, 6, BOT_DIR_OUT, NULL, 0, &moved, &sense);

		if (r == 0)
			return 0;
		if (r == 1 && scsi_sense_action(&sense) == SENSE_ACT_FAIL) {
			kprintf("%s: not ready: %s, ASC %02x ASCQ %02x\n", l->blk.name, scsi_sense_key_name(sense.key),
				sense.asc, sense.ascq);
			return -1;
		}
		if (tsc_ms(start, rdtsc()) > READY_TIMEOUT_MS) {
			kprintf("%s: not ready after %u ms\n", l->blk.name, READY_TIMEOUT_MS);
			return -1;
		}
		delay_ms(50);
	}
}

static int capacity(struct lun *l)
{
	uint8_t cdb[16];
	uint32_t moved;
	int need16;

	scsi_cdb_read_capacity10(cdb);
	if (scsi(l, "READ CAPACITY(10)", cdb, 10, BOT_DIR_IN, l->m->data, 8, &moved, NULL) < 0)
		return -1;
	if (scsi_parse_capacity10(l->m->data, moved, &l->blk.blocks, &l->blk.block_size, &need16) < 0) {
		kprintf("%s: READ CAPACITY(10): %u bytes, block size %u; not a disk we can use\n", l->blk.name, moved,
			l->blk.block_size);
		return -1;
	}
	if (!need16)
		return 0;
	/* Too large for the 10-byte form (SBC-3 5.16.2). */
	scsi_cdb_read_capacity16(cdb, 32);
	if (scsi(l, "READ CAPACITY(16)", cdb, 16, BOT_DIR_IN, l->m->data, 32, &moved, NULL) < 0 ||
	    scsi_parse_capacity16(l->m->data, moved, &l->blk.blocks, &l->blk.block_size) < 0) {
		kprintf("%s: READ CAPACITY(16) unusable\n", l->blk.name);
		return -1;
	}
	return 0;
}

static void probe_lun(struct msc *m, uint8_t n, uint32_t pci_location)
{
	struct lun *l = &luns[nluns];
	struct scsi_inquiry inq;
	uint8_t cdb[16];
	uint32_t moved;

	memset(l, 0, sizeof *l);
	l->m = m;
	l->lun = n;
	ksnprintf(l->blk.name, sizeof l->blk.name, "%s lun %u", m->name, n);
	scsi_cdb_simple(cdb, SCSI_INQUIRY, 36);
	if (scsi(l, "INQUIRY", cdb, 6, BOT_DIR_IN, m->data, 36, &moved, NULL) < 0 ||
	    scsi_parse_inquiry(m->data, moved, &inq) < 0)
		return;
	/* Peripheral qualifier 0 (connected), device type 0 (direct access block device). */
	if (inq.peripheral != 0) {
		kprintf("%s: peripheral %02x is not a direct-access disk; skipped\n", l->blk.name, inq.peripheral);
		return;
	}
	kprintf("%s: \"%s\" \"%s\"%s\n", l->blk.name, inq.vendor, inq.product, inq.removable ? ", removable" : "");
	if (wait_ready(l) < 0 || capacity(l) < 0)
		return;
	if (l->blk.blocks > 0x100000000ull) {
		kprintf("%s: %lu blocks; READ(10)/WRITE(10) reach the first 2^32 only\n", l->blk.name, l->blk.blocks);
		l->blk.blocks = 0x100000000ull;
	}
	l->blk.ops = &ops;
	l->blk.drv = l;
	l->blk.transport = BF_DISK_USB;
	l->blk.pci_location = pci_location;
	l->blk.max_bytes = CHUNK;
	nluns++;
	blk_register(&l->blk);
}

void usb_storage_probe(struct usbdev *u, const struct usb_msc_iface *ifc, uint32_t pci_location, const char *name)
{
	struct msc *m = &mscs[nmscs];
	uint32_t got = 0;
	uint8_t maxlun = 0;

	if (nmscs == MAX_MSC) {
		kprintf("%s: more than %d mass-storage devices; left alone\n", name, MAX_MSC);
		return;
	}
	if (ifc->subclass != 6)
		kprintf("%s: mass-storage subclass %u, not SCSI; trying SCSI anyway\n", name, ifc->subclass);
	memset(m, 0, sizeof *m);
	if (!(m->cbw = page_alloc(1)))
		panic("usb-storage: out of memory");
	m->csw = m->cbw + 64;
	m->data = m->cbw + 128;
	m->u = u;
	m->iface = ifc->iface;
	ksnprintf(m->name, sizeof m->name, "usb-storage %s", name);
	nmscs++;
	/* Get Max LUN (BOT 3.2); a device with one LUN may stall it. */
	if (usb_control(u, USB_RT_IN | USB_RT_CLASS | USB_RT_INTERFACE, BOT_REQ_GET_MAX_LUN, 0, ifc->iface, m->data, 1,
			&got) == USB_OK && got == 1)
		maxlun = m->data[0] > MAX_LUN_PER_DEV ? MAX_LUN_PER_DEV : m->data[0];
	for (uint8_t n = 0; n <= maxlun && nluns < MAX_LUNS; n++)
		probe_lun(m, n, pci_location);
}

/* One READ(10)/WRITE(10): blk.c hands over at most CHUNK bytes (max_bytes). */
static int rw(struct lun *l, uint8_t op, uint64_t lba, uint32_t count, uint8_t *buf)
{
	uint32_t bytes = count * l->blk.block_size, moved;
	uint8_t cdb[16];

	if (lba + count > 0x100000000ull)
		return -1;   /* blk.c keeps us below blocks, which probe_lun capped */
	scsi_cdb_rw10(cdb, op, (uint32_t)lba, (uint16_t)count);
	if (scsi(l, op == SCSI_READ10 ? "READ(10)" : "WRITE(10)", cdb, 10,
		 op == SCSI_READ10 ? BOT_DIR_IN : BOT_DIR_OUT, buf, bytes, &moved, NULL) < 0)
		return -1;
	if (moved != bytes) {
		kprintf("%s: %s at %lu moved %u of %u bytes\n", l->blk.name, op == SCSI_READ10 ? "READ(10)" : "WRITE(10)",
			lba, moved, bytes);
		return -1;
	}
	return 0;
}

static int msc_read(struct blkdev *b, uint64_t lba, uint32_t count, void *buf)
{
	return rw(b->drv, SCSI_READ10, lba, count, buf);
}

static int msc_write(struct blkdev *b, uint64_t lba, uint32_t count, const void *buf)
{
	return rw(b->drv, SCSI_WRITE10, lba, count, (uint8_t *)(uintptr_t)buf);
}

/* SYNCHRONIZE CACHE(10) over the whole disk (LBA 0, 0 blocks: SBC-3 5.24). A device that does
 * not know the command (ILLEGAL REQUEST, invalid opcode 20/00) has no cache to flush. */
static int msc_flush(struct blkdev *b)
{
	struct lun *l = b->drv;
	struct scsi_sense sense;
	uint8_t cdb[16];
	uint32_t moved;

	if (l->no_sync)
		return 0;
	scsi_cdb_rw10(cdb, SCSI_SYNC_CACHE10, 0, 0);
	if (scsi(l, "SYNCHRONIZE CACHE", cdb, 10, BOT_DIR_OUT, NULL, 0, &moved, &sense) == 0)
		return 0;
	if (sense.key == SENSE_ILLEGAL_REQUEST && sense.asc == 0x20) {
		kprintf("%s: no SYNCHRONIZE CACHE; taking the device as writing through\n", b->name);
		l->no_sync = 1;
		return 0;
	}
	return -1;
}

/* The panic path: the controller's rings are taken back (usb_quiesce), and a command caught
 * between its CBW and its CSW is ended by reset recovery, after which the device expects a
 * new CBW. */
static int msc_quiesce(struct blkdev *b)
{
	struct lun *l = b->drv;
	int r = usb_quiesce(l->m->u);

	if (l->m->busy) {
		kprintf("%s: a command was in flight at the panic\n", b->name);
		if (reset_recovery(l->m) < 0)
			r = -1;
	}
	return r;
}

static const struct blk_ops ops = { msc_read, msc_write, msc_flush, msc_quiesce };

/* kernelopt test.usb: make the boot stick's transport fail the ways the recovery paths exist for
 * (test/kernel/usb.qemu.test.ts). "recovery": a CBW with a bad signature (the device stalls it
 * and wants reset recovery, BOT 6.6.1), then a READ past the end (CSW failed, REQUEST SENSE),
 * then a read that must work again. "panic-in-transfer": a READ's CBW goes out and the kernel
 * panics before its data and CSW, so the core dump must be written after msc_quiesce. */
void usb_storage_test(void)
{
	const char *t = cmdline_get("test.usb");
	struct blkdev *b = bootdisk();
	struct scsi_sense sense;
	struct lun *l;
	struct msc *m;
	uint8_t cdb[16], *page;
	uint32_t done;
	int r;

	if (!t)
		return;
	if (!b || b->ops != &ops) {
		kprintf("test: test.usb=%s needs a USB boot disk\n", t);
		return;
	}
	l = b->drv;
	m = l->m;
	if (strcmp(t, "recovery") == 0) {
		if (!(page = page_alloc(1)))
			panic("test: out of memory");
		scsi_cdb_simple(cdb, SCSI_TEST_UNIT_READY, 0);
		bot_cbw(m->cbw, ++m->tag, 0, BOT_DIR_OUT, l->lun, cdb, 6);
		m->cbw[0] ^= 0xFF;
		r = usb_bulk(m->u, 0, m->cbw, CBW_LEN, &done, DATA_TIMEOUT_MS);
		kprintf("test: CBW with a bad signature: %s\n", r == USB_STALL ? "stalled" : r == USB_OK ? "taken" : "failed");
		reset_recovery(m);
		kprintf("test: after reset recovery: %s\n", wait_ready(l) == 0 ? "ready" : "not ready");
		scsi_cdb_rw10(cdb, SCSI_READ10, (uint32_t)b->blocks, 1);
		r = scsi_once(l, cdb, 10, BOT_DIR_IN, page, b->block_size, &done, &sense);
		kprintf("test: READ past the end: %s, %s, ASC %02x ASCQ %02x\n", r == 1 ? "failed" : r == 0 ? "passed" : "transport error",
			scsi_sense_key_name(sense.key), sense.asc, sense.ascq);
		kprintf("test: READ of block 0 afterwards: %s\n", blk_read(b, 0, 1, page) == 0 ? "ok" : "failed");
		page_free(page, 1);
	} else if (strcmp(t, "panic-in-transfer") == 0) {
		scsi_cdb_rw10(cdb, SCSI_READ10, 0, 16);
		bot_cbw(m->cbw, ++m->tag, 16 * b->block_size, BOT_DIR_IN, l->lun, cdb, 10);
		m->busy = 1;
		r = usb_bulk(m->u, 0, m->cbw, CBW_LEN, &done, DATA_TIMEOUT_MS);
		kprintf("test: READ(10) sent (%d); panicking before its data and CSW\n", r);
		panic("test.usb=panic-in-transfer");
	} else {
		kprintf("test: unknown test.usb=%s (recovery or panic-in-transfer)\n", t);
	}
}
