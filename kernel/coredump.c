/* coredump.c: the evidence of a crash, kept across the reset (docs/coredump.md; the format is
 * common/coredump.h). At boot, coredump_init finds the core-dump partition on the boot disk,
 * works out where the next dump goes, and reports the dumps that are waiting to be read. When
 * the kernel dies, panic() and trap() call coredump_panic / coredump_trap, which write the
 * registers, the backtrace, the kernel log and the boot info into the next slot.
 *
 * The panic path runs with interrupts off (panic_begin), on whatever stack the panic came on,
 * with the rest of the kernel possibly broken: it allocates nothing (a static block buffer
 * stages every write), uses the boot disk's polled driver through blk.c, first lets it finish any request a
 * panic inside the driver left in flight, and gives up with a message on the first failure.
 * A fault in here is a fault while panicking, which panic_begin turns into a plain reset.
 *
 * Write order: a header in state WRITING, the body, a flush, the header in state COMPLETE with
 * the body's CRC, a flush. A dump cut short therefore never has a COMPLETE header with a body
 * that matches it: readers call it incomplete instead of decoding garbage.
 *
 * Time: the dump records the CMOS clock (time.c's rtc_seconds) and the TSC time since the loader
 * started. */
#include "defs.h"
#include "x86.h"
#include "../common/coredump.h"

extern char __kernel_start[], __kernel_end[];

/* kernelopt test.coredump_slow=1: pause after every 512 bytes of body, so a test can cut the
 * power while the dump is being written. */
#define SLOW_MS_PER_512 25

/* The log is taken up to where it stands when the header is made, but this file prints a line
 * while the body is written; leaving out the oldest LOG_SLACK bytes of a full ring keeps that
 * line from overwriting text that is still to be copied. */
#define LOG_SLACK 256

static struct {
	int ready;                      /* coredump_init found a partition and a disk to write */
	struct blkdev *disk;
	uint64_t first_lba;             /* of the partition, in disk blocks */
	struct bf_cd_geometry geo;
	uint64_t next_seq;
	int slow;
	struct bf_boot_info bi;         /* a copy: the loader's memory may be reused */
} cd;

/* Why coredump_init left cd.ready 0, for the panic path to repeat. */
static const char *not_ready = "the panic came before the disk was set up";

/* Every transfer goes through this block: DMA from a known, identity-mapped buffer. */
static uint8_t block[BF_CD_BLOCK] __attribute__((aligned(4096)));

static uint64_t lba_of(uint64_t part_offset)
{
	return cd.first_lba + part_offset / cd.disk->block_size;
}

static int read_block(uint64_t part_offset)
{
	return blk_read(cd.disk, lba_of(part_offset), BF_CD_BLOCK / cd.disk->block_size, block);
}

/* Writes `block` at `part_offset`; a body block slowly, a device block at a time, under
 * test.coredump_slow (headers are not slowed: the test cuts the power after the first). */
static int write_block(uint64_t part_offset, int body)
{
	uint32_t bs = cd.disk->block_size;

	if (!cd.slow || !body)
		return blk_write(cd.disk, lba_of(part_offset), BF_CD_BLOCK / bs, block);
	for (uint32_t done = 0; done < BF_CD_BLOCK; done += bs) {
		if (blk_write(cd.disk, lba_of(part_offset + done), 1, block + done) < 0)
			return -1;
		delay_ms(SLOW_MS_PER_512 * (bs / 512));
	}
	return 0;
}

/* Reads a slot's header. Returns 1 and fills `h` when the slot holds a dump (complete or
 * not), 0 when it holds none, -1 on a read error. */
static int read_header(uint32_t slot, struct bf_cd_header *h)
{
	if (read_block(bf_cd_slot_offset(&cd.geo, slot)) < 0)
		return -1;
	return bf_cd_header_valid(block, &cd.geo, slot, h);
}

/* Does the body of the COMPLETE dump in `slot` match its CRC? */
static int body_intact(uint32_t slot, const struct bf_cd_header *h)
{
	uint64_t at = bf_cd_slot_offset(&cd.geo, slot) + BF_CD_BLOCK;
	uint32_t crc = 0;

	for (uint32_t done = 0; done < h->body_size; done += BF_CD_BLOCK, at += BF_CD_BLOCK) {
		uint32_t n = h->body_size - done < BF_CD_BLOCK ? h->body_size - done : BF_CD_BLOCK;
		if (read_block(at) < 0)
			return 0;
		crc = bf_crc32(crc, block, n);
	}
	return crc == h->body_crc;
}

/* Reports the dumps newer than the last clear, and sets next_seq above every dump on disk
 * (cleared ones too, so sequence numbers never repeat). */
static void scan(void)
{
	struct bf_cd_header h, newest;
	uint64_t max_seq = cd.geo.cleared_seq;
	uint32_t waiting = 0, incomplete = 0;
	int newest_ok = 0;

	memset(&newest, 0, sizeof newest);
	for (uint32_t i = 0; i < cd.geo.slot_count; i++) {
		int r = read_header(i, &h);
		if (r < 0) {
			kprintf("coredump: reading slot %u failed; dumps cannot be written\n", i);
			not_ready = "the partition could not be read at boot";
			return;
		}
		if (r == 0)
			continue;
		if (h.seq > max_seq)
			max_seq = h.seq;
		if (h.seq <= cd.geo.cleared_seq)
			continue;
		waiting++;
		int ok = h.state == BF_CD_COMPLETE && body_intact(i, &h);
		incomplete += !ok;
		if (h.seq > newest.seq) {
			newest = h;
			newest_ok = ok;
		}
	}
	cd.next_seq = max_seq + 1;
	cd.ready = 1;
	if (waiting == 0) {
		kprintf("coredump: %u slots of %u KiB, no dumps waiting\n", cd.geo.slot_count, cd.geo.slot_size / 1024);
		return;
	}
	/* The same words on both consoles, as ESXi announces a waiting dump. */
	kprintf("coredump: %u dump(s) waiting", waiting);
	if (incomplete)
		kprintf(" (%u incomplete)", incomplete);
	kprintf(", newest seq %lu (%s%.192s) - read with bankforge coredump\n", newest.seq,
		newest_ok ? "" : "incomplete: ", newest.reason);
}

void coredump_init(const struct bf_boot_info *bi)
{
	const struct gpt_part *p;
	uint64_t part_bytes;

	memcpy(&cd.bi, bi, sizeof cd.bi);
	cd.slow = cmdline_uint("test.coredump_slow", 0) != 0;
	if (!(cd.disk = bootdisk())) {
		not_ready = bootdisk_why();
		kprintf("coredump: %s; dumps cannot be written or reported\n", not_ready);
		return;
	}
	/* The loader's rule (its bootinfo coredump is the same partition): the first of its type. */
	if (!(p = gpt_find_type(bootdisk_gpt(), gpt_type_vmkdiagnostic))) {
		cd.disk = NULL;
		not_ready = "the boot disk has no core-dump partition";
		kprintf("coredump: no core-dump partition; dumps cannot be written\n");
		return;
	}
	cd.first_lba = p->first_lba;
	part_bytes = (p->last_lba - p->first_lba + 1) * cd.disk->block_size;
	if (read_block(0) < 0) {
		not_ready = "the partition could not be read at boot";
		kprintf("coredump: reading the partition header failed; dumps cannot be written\n");
		return;
	}
	if (bf_cd_geometry(block, part_bytes, &cd.geo) < 0) {
		not_ready = "the core-dump partition is too small";
		kprintf("coredump: the partition (%lu KiB) is too small for a dump\n", part_bytes / 1024);
		return;
	}
	scan();
}

/* The body, written through `block` as it is produced, its CRC kept on the way. */
struct body {
	uint64_t at;     /* partition offset of the next block */
	uint32_t fill;   /* bytes in block */
	uint32_t crc;
	int err;
};

static void body_flush(struct body *o)
{
	if (o->fill == 0 || o->err)
		return;
	memset(block + o->fill, 0, BF_CD_BLOCK - o->fill);
	o->err = write_block(o->at, 1) < 0;
	o->at += BF_CD_BLOCK;
	o->fill = 0;
}

static void body_put(struct body *o, const void *src, uint32_t n)
{
	const uint8_t *p = src;

	o->crc = bf_crc32(o->crc, p, n);
	while (n && !o->err) {
		uint32_t k = BF_CD_BLOCK - o->fill < n ? BF_CD_BLOCK - o->fill : n;
		memcpy(block + o->fill, p, k);
		o->fill += k;
		p += k;
		n -= k;
		if (o->fill == BF_CD_BLOCK)
			body_flush(o);
	}
}

static int write_header(const struct bf_cd_header *h, uint32_t slot)
{
	memset(block, 0, sizeof block);
	memcpy(block, h, sizeof *h);
	return write_block(bf_cd_slot_offset(&cd.geo, slot), 0) < 0 || blk_flush(cd.disk) < 0 ? -1 : 0;
}

static void write_dump(struct bf_cd_header *h, const struct bf_cd_regs *regs, uint64_t rip, uint64_t rbp)
{
	uint64_t pcs[BACKTRACE_MAX];
	uint64_t written, log_len;
	uint32_t slot, n;
	struct body o = { 0, 0, 0, 0 };

	if (!cd.ready) {
		kprintf("coredump: not written (%s)\n", not_ready);
		return;
	}
	if (blk_quiesce(cd.disk) < 0) {
		kprintf("coredump: not written (the disk did not finish the request in flight)\n");
		return;
	}
	slot = bf_cd_slot_of(&cd.geo, cd.next_seq);
	n = (uint32_t)backtrace_pcs(rip, rbp, pcs, BACKTRACE_MAX);
	/* The log as it stands now, this dump's messages included. */
	written = klog_written();
	log_len = written < KLOG_SIZE - LOG_SLACK ? written : KLOG_SIZE - LOG_SLACK;

	memcpy(h->magic, BF_CD_DUMP_MAGIC, 8);
	h->version = BF_CD_VERSION;
	h->header_size = sizeof *h;
	h->seq = cd.next_seq;
	h->slot = slot;
	h->state = BF_CD_WRITING;
	h->rtc_time = rtc_seconds();
	h->tsc = rdtsc();
	h->tsc_hz = tsc_hz;
	h->uptime_ms = tsc_ms(cd.bi.tsc_loader_entry, h->tsc);
	h->bank = cd.bi.bank;
	h->bootstate = cd.bi.bank_bootstate;
	memcpy(h->build, cd.bi.bank_version, sizeof h->build);
	h->kernel_start = (uint64_t)(uintptr_t)__kernel_start;
	h->kernel_end = (uint64_t)(uintptr_t)__kernel_end;
	h->panic_addr = (uint64_t)(uintptr_t)panic;
	h->sections[BF_CD_SEC_REGS] = (struct bf_cd_section){ 0, sizeof *regs };
	h->sections[BF_CD_SEC_BACKTRACE] = (struct bf_cd_section){ sizeof *regs, n * 8 };
	h->sections[BF_CD_SEC_LOG] = (struct bf_cd_section){ sizeof *regs + n * 8, (uint32_t)log_len };
	h->sections[BF_CD_SEC_BOOTINFO] = (struct bf_cd_section){ sizeof *regs + n * 8 + (uint32_t)log_len, sizeof cd.bi };
	h->log_written = written;
	h->body_size = h->sections[BF_CD_SEC_BOOTINFO].offset + sizeof cd.bi;
	if (h->body_size > cd.geo.slot_size - BF_CD_BLOCK) {
		kprintf("coredump: not written (%u bytes do not fit a %u-byte slot)\n", h->body_size, cd.geo.slot_size);
		return;
	}
	bf_cd_seal(h);
	/* From here on the slot's previous dump is gone: a WRITING header says so at once. */
	if (write_header(h, slot) < 0)
		goto fail;
	kprintf("coredump: writing slot %u (seq %lu, %u bytes)\n", slot, h->seq, h->body_size + BF_CD_BLOCK);

	o.at = bf_cd_slot_offset(&cd.geo, slot) + BF_CD_BLOCK;
	body_put(&o, regs, sizeof *regs);
	body_put(&o, pcs, n * 8);
	/* The ring from its oldest byte: the `log_len` bytes before `written`. */
	for (uint64_t i = written - log_len, k; i < written && !o.err; i += k) {
		const char *piece = klog_piece(i, written, &k);

		body_put(&o, piece, (uint32_t)k);
	}
	body_put(&o, &cd.bi, sizeof cd.bi);
	body_flush(&o);
	if (o.err || blk_flush(cd.disk) < 0)
		goto fail;

	h->state = BF_CD_COMPLETE;
	h->body_crc = o.crc;
	bf_cd_seal(h);
	if (write_header(h, slot) < 0)
		goto fail;
	cd.next_seq++;
	kprintf("coredump: written to slot %u (seq %lu, %u bytes)\n", slot, h->seq, h->body_size + BF_CD_BLOCK);
	return;
fail:
	kprintf("coredump: not written (disk error in slot %u; what reached the disk reads as incomplete)\n", slot);
}

void coredump_panic(uint64_t rbp, const char *fmt, va_list ap)
{
	struct bf_cd_header h;
	struct bf_cd_regs regs;
	const uint64_t *frame = (const uint64_t *)(uintptr_t)rbp;

	memset(&h, 0, sizeof h);
	memset(&regs, 0, sizeof regs);
	h.cause = BF_CD_PANIC;
	bf_vfmt(h.reason, sizeof h.reason, fmt, ap);
	/* `rbp` is panic()'s frame: the caller's rip is its return address, the caller's frame
	 * pointer the saved one, and its stack pointer what it was before the call. */
	regs.rip = frame[1];
	regs.rbp = frame[0];
	regs.rsp = rbp + 16;
	regs.rflags = read_rflags();
	regs.cs = KERNEL_CS;
	regs.ss = KERNEL_DS;
	regs.cr0 = read_cr0();
	regs.cr2 = read_cr2();
	regs.cr3 = read_cr3();
	regs.cr4 = read_cr4();
	write_dump(&h, &regs, 0, rbp);
}

void coredump_trap(const struct trapframe *tf, const char *name)
{
	struct bf_cd_header h;
	struct bf_cd_regs regs = {
		tf->rax, tf->rbx, tf->rcx, tf->rdx, tf->rsi, tf->rdi, tf->rbp, tf->rsp,
		tf->r8, tf->r9, tf->r10, tf->r11, tf->r12, tf->r13, tf->r14, tf->r15,
		tf->rip, tf->rflags, tf->cs, tf->ss,
		read_cr0(), read_cr2(), read_cr3(), read_cr4(),
		BF_CD_REGS_ALL, 0,
	};

	memset(&h, 0, sizeof h);
	h.cause = BF_CD_EXCEPTION;
	h.vector = (uint32_t)tf->vector;
	h.error_code = tf->error;
	h.fault_addr = tf->vector == 14 ? regs.cr2 : 0;
	ksnprintf(h.reason, sizeof h.reason, "exception %lu: %s, error code 0x%lx", tf->vector, name, tf->error);
	write_dump(&h, &regs, tf->rip, tf->rbp);
}
