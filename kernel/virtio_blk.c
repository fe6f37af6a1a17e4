/* virtio_blk.c: virtio block devices through the legacy PCI interface, polled, one virtqueue.
 *
 * QEMU's virtio-blk-pci is a transitional device: besides the virtio 1.x capabilities it keeps
 * the legacy register block in I/O BAR 0, which needs no MMIO mapping and no capability walk.
 * Spec references are to "Virtual I/O Device (VIRTIO) Version 1.1": 4.1.4.8 (legacy register
 * layout), 3.1.1 and 3.1.1.1 (legacy initialization), 2.6 and 2.6.2 (split virtqueue and its
 * legacy layout), 5.2 (block device). Legacy devices are little-endian like x86.
 *
 * Every LBA and count here is in the device's logical blocks (the blk_size feature, 512 when
 * it is not offered). The request header counts 512-byte sectors whatever the block size
 * (5.2.6), so requests convert; a 4096-byte-sector disk rejects I/O that is not whole blocks. */
#include "defs.h"
#include "x86.h"

#define MAX_VBLK 4
#define IO_TIMEOUT_MS 5000   /* a request outstanding this long means the device is gone */

/* Legacy register block in BAR 0 (4.1.4.8), without MSI-X, so device config starts at 0x14. */
enum {
	REG_DEVICE_FEATURES = 0x00,  /* 32 */
	REG_DRIVER_FEATURES = 0x04,  /* 32 */
	REG_QUEUE_PFN = 0x08,        /* 32: physical address of the queue >> 12 */
	REG_QUEUE_SIZE = 0x0C,       /* 16, read-only in legacy */
	REG_QUEUE_SELECT = 0x0E,     /* 16 */
	REG_QUEUE_NOTIFY = 0x10,     /* 16 */
	REG_STATUS = 0x12,           /* 8 */
	REG_ISR = 0x13,              /* 8 */
	REG_CONFIG = 0x14,
};

/* Device status bits (2.1). */
enum { S_ACKNOWLEDGE = 1, S_DRIVER = 2, S_DRIVER_OK = 4, S_FAILED = 128 };

/* Block feature bits (5.2.3) and configuration offsets (5.2.4). */
enum { F_RO = 5, F_BLK_SIZE = 6, F_FLUSH = 9 };
enum { CFG_CAPACITY = 0, CFG_BLK_SIZE = 20 };

/* Requests (5.2.6). */
enum { T_IN = 0, T_OUT = 1, T_FLUSH = 4 };
enum { ST_OK = 0 };

/* Split virtqueue (2.6.5, 2.6.6, 2.6.8). */
enum { DESC_NEXT = 1, DESC_WRITE = 2 };
enum { AVAIL_NO_INTERRUPT = 1 };
#define QUEUE_ALIGN 4096   /* the legacy interface's fixed alignment of the used ring (2.6.2) */

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct {
		uint32_t id;
		uint32_t len;
	} ring[];
};

struct vblk_req;

struct vblk {
	struct blkdev blk;        /* registered with blk.c; blk.drv points back here */
	const struct pci_dev *pci;
	uint16_t iobase;
	int can_flush;
	uint16_t qsize, last_used;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	struct vblk_req *req;     /* header and status byte of the one request in flight */
};

struct vblk_req {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;     /* in 512-byte units */
	uint8_t status;      /* written by the device */
};

static struct vblk vblks[MAX_VBLK];
static int nvblks;
static const struct blk_ops ops;

static uint64_t align(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

static void probe(const struct pci_dev *p)
{
	struct vblk *d = &vblks[nvblks];
	uint32_t bar0 = pci_read32(p, 0x10), features, accept;
	uint64_t qbytes;
	void *q;

	if (!(bar0 & 1)) {
		kprintf("virtio-blk %02x:%02x.%x: BAR 0 is not I/O space (not a legacy device); skipped\n",
			p->bus, p->slot, p->fn);
		return;
	}
	memset(d, 0, sizeof *d);
	d->pci = p;
	d->iobase = (uint16_t)(bar0 & ~3u);
	/* PCI command register: I/O space on, bus mastering on (the device DMAs into the rings and
	 * buffers), INTx off (we poll; an unclaimed level interrupt must not linger). */
	pci_write16(p, 0x04, (uint16_t)((pci_read16(p, 0x04) | 0x0001 | 0x0004 | 0x0400)));

	/* 3.1.1 step 1: reset the device. */
	outb(d->iobase + REG_STATUS, 0);
	/* Step 2: ACKNOWLEDGE, we have noticed the device. */
	outb(d->iobase + REG_STATUS, S_ACKNOWLEDGE);
	/* Step 3: DRIVER, we know how to drive it. */
	outb(d->iobase + REG_STATUS, S_ACKNOWLEDGE | S_DRIVER);
	/* Step 4: read the device's features and write the subset we understand. Legacy devices
	 * have no FEATURES_OK handshake (3.1.1.1): the write is the agreement. */
	features = inl(d->iobase + REG_DEVICE_FEATURES);
	accept = features & (1u << F_RO | 1u << F_BLK_SIZE | 1u << F_FLUSH);
	outl(d->iobase + REG_DRIVER_FEATURES, accept);
	d->blk.read_only = !!(accept & 1u << F_RO);
	d->can_flush = !!(accept & 1u << F_FLUSH);
	d->blk.block_size = accept & 1u << F_BLK_SIZE ? inl(d->iobase + REG_CONFIG + CFG_BLK_SIZE) : 512;
	if (d->blk.block_size < 512 || d->blk.block_size > PAGE_SIZE || d->blk.block_size & (d->blk.block_size - 1)) {
		kprintf("virtio-blk %02x:%02x.%x: block size %u not supported; skipped\n", p->bus, p->slot, p->fn,
			d->blk.block_size);
		outb(d->iobase + REG_STATUS, S_FAILED);
		return;
	}
	d->blk.blocks = ((uint64_t)inl(d->iobase + REG_CONFIG + CFG_CAPACITY + 4) << 32 |
		     inl(d->iobase + REG_CONFIG + CFG_CAPACITY)) / (d->blk.block_size / 512);

	/* Step 5: set up virtqueue 0, the block device's only request queue (5.2.2). In legacy
	 * mode the device fixes the queue size; the driver provides one physically contiguous,
	 * zeroed area laid out as 2.6.2 says: descriptors, available ring, then the used ring
	 * at the next QUEUE_ALIGN boundary. */
	outw(d->iobase + REG_QUEUE_SELECT, 0);
	d->qsize = inw(d->iobase + REG_QUEUE_SIZE);
	if (d->qsize < 3) {
		kprintf("virtio-blk %02x:%02x.%x: queue 0 has %u entries; skipped\n", p->bus, p->slot, p->fn, d->qsize);
		outb(d->iobase + REG_STATUS, S_FAILED);
		return;
	}
	qbytes = align(16ull * d->qsize + 6 + 2ull * d->qsize, QUEUE_ALIGN) + align(6 + 8ull * d->qsize, QUEUE_ALIGN);
	q = page_alloc(qbytes / PAGE_SIZE + 1);   /* + 1: a page for the request header and status */
	if (!q || (uint64_t)(uintptr_t)q >> 44) {   /* the PFN register holds 32 bits */
		kprintf("virtio-blk %02x:%02x.%x: no memory for the virtqueue; skipped\n", p->bus, p->slot, p->fn);
		outb(d->iobase + REG_STATUS, S_FAILED);
		return;
	}
	d->desc = q;
	d->avail = (struct virtq_avail *)((uint8_t *)q + 16ull * d->qsize);
	d->used = (struct virtq_used *)((uint8_t *)q + align(16ull * d->qsize + 6 + 2ull * d->qsize, QUEUE_ALIGN));
	d->req = (struct vblk_req *)((uint8_t *)q + qbytes);
	/* We poll the used ring, so ask the device not to interrupt (2.6.7). */
	d->avail->flags = AVAIL_NO_INTERRUPT;
	outl(d->iobase + REG_QUEUE_PFN, (uint32_t)((uint64_t)(uintptr_t)q / PAGE_SIZE));

	/* Step 6 (legacy order, 3.1.1.1): DRIVER_OK, the device is live. */
	outb(d->iobase + REG_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_DRIVER_OK);
	nvblks++;
	d->blk.ops = &ops;
	d->blk.drv = d;
	d->blk.transport = BF_DISK_VIRTIO;
	d->blk.pci_location = (uint32_t)p->bus << 8 | (uint32_t)p->slot << 3 | p->fn;
	d->blk.max_bytes = 65536;   /* 64 KiB per request: well inside any segment limit */
	ksnprintf(d->blk.name, sizeof d->blk.name, "virtio-blk %02x:%02x.%x", p->bus, p->slot, p->fn);
	blk_register(&d->blk);
}

void virtio_blk_init(void)
{
	for (int i = 0; i < pci_ndevs && nvblks < MAX_VBLK; i++) {
		const struct pci_dev *p = &pci_devs[i];
		/* 4.1.2.3: vendor 0x1AF4; a transitional device has an ID in 0x1000-0x103F and
		 * names its type in the subsystem ID (2 = block). Modern-only devices (0x1042)
		 * have no legacy registers. */
		if (p->vendor == 0x1AF4 && p->device >= 0x1000 && p->device <= 0x103F && p->subsys == 2)
			probe(p);
		else if (p->vendor == 0x1AF4 && p->device == 0x1042)
			kprintf("virtio-blk %02x:%02x.%x: modern-only device (no legacy interface); skipped\n", p->bus,
				p->slot, p->fn);
	}
}

/* One request: header, optional data buffer, status byte, as a chain of descriptors 0-2 (one
 * request at a time, so the same three always serve). Returns 0, or -1 on a device error or
 * when the device does not answer within IO_TIMEOUT_MS. */
static int request(struct vblk *d, uint32_t type, uint64_t lba, void *buf, uint32_t len)
{
	uint64_t start;
	uint16_t tail = buf ? 2 : 1;

	d->req->type = type;
	d->req->reserved = 0;
	d->req->sector = lba * (d->blk.block_size / 512);
	d->req->status = 0xFF;
	d->desc[0] = (struct virtq_desc){ (uint64_t)(uintptr_t)d->req, 16, DESC_NEXT, 1 };
	if (buf)
		d->desc[1] = (struct virtq_desc){ (uint64_t)(uintptr_t)buf, len,
						  (uint16_t)(DESC_NEXT | (type == T_IN ? DESC_WRITE : 0)), 2 };
	d->desc[tail] = (struct virtq_desc){ (uint64_t)(uintptr_t)&d->req->status, 1, DESC_WRITE, 0 };

	/* 2.6.13: put the chain's head in the available ring, then publish it by advancing idx,
	 * then notify. The barriers keep the compiler from reordering; x86 keeps the rest. */
	d->avail->ring[d->avail->idx % d->qsize] = 0;
	barrier();
	d->avail->idx++;
	barrier();
	outw(d->iobase + REG_QUEUE_NOTIFY, 0);

	start = rdtsc();
	while (*(volatile uint16_t *)&d->used->idx == d->last_used) {
		if (tsc_ms(start, rdtsc()) > IO_TIMEOUT_MS) {
			kprintf("virtio-blk %02x:%02x.%x: request %u at %lu timed out\n", d->pci->bus, d->pci->slot,
				d->pci->fn, type, lba);
			return -1;
		}
		pause();
	}
	barrier();
	d->last_used++;
	inb(d->iobase + REG_ISR);   /* reading the ISR acknowledges any interrupt the device raised */
	if (d->req->status != ST_OK) {
		kprintf("virtio-blk %02x:%02x.%x: request %u at %lu failed with status %u\n", d->pci->bus, d->pci->slot,
			d->pci->fn, type, lba, d->req->status);
		return -1;
	}
	return 0;
}

static int vblk_read(struct blkdev *b, uint64_t lba, uint32_t count, void *buf)
{
	return request(b->drv, T_IN, lba, buf, count * b->block_size);
}

static int vblk_write(struct blkdev *b, uint64_t lba, uint32_t count, const void *buf)
{
	return request(b->drv, T_OUT, lba, (void *)(uintptr_t)buf, count * b->block_size);
}

/* Ask the device to make completed writes durable. A device that does not offer the flush
 * feature writes through (5.2.5), so there is nothing to ask. */
static int vblk_flush(struct blkdev *b)
{
	struct vblk *d = b->drv;

	if (!d->can_flush)
		return 0;
	return request(d, T_FLUSH, 0, NULL, 0);
}

/* A panic inside the driver can leave a request published in the available ring that the
 * driver never collected from the used ring. Wait (bounded) for the device to finish it, then
 * take the queue over as idle. */
static int vblk_quiesce(struct blkdev *b)
{
	struct vblk *d = b->drv;
	uint64_t start = rdtsc();

	while (*(volatile uint16_t *)&d->used->idx != *(volatile uint16_t *)&d->avail->idx) {
		if (tsc_ms(start, rdtsc()) > IO_TIMEOUT_MS)
			return -1;
		pause();
	}
	if (d->last_used != d->used->idx)
		kprintf("%s: a request was in flight at the panic; taking the queue over\n", d->blk.name);
	d->last_used = d->used->idx;
	return 0;
}

static const struct blk_ops ops = { vblk_read, vblk_write, vblk_flush, vblk_quiesce };
