/* nvme.c: NVMe controllers (PCI class 01.08.02, QEMU's -device nvme), polled: the admin queue
 * pair and one I/O queue pair per controller, every active namespace of the NVM command set
 * registered as a disk, 512- or 4096-byte LBA formats.
 *
 * References: NVM Express Base Specification 1.4 ("NVMe"): 3.1 (controller registers), 7.6.1
 * (controller initialisation), 5.3/5.4 (Create I/O Completion/Submission Queue), 5.15
 * (Identify), 5.21.1.7 (Number of Queues); NVM Command Set (in 1.4: section 6) for Read, Write
 * and Flush. Queue entries, PRPs, the phase tag and Identify data are nvmeq.c's, which the host
 * tests run.
 *
 * The firmware left the controller enabled with its own queues in memory the kernel now owns;
 * taking over is disabling it (CC.EN 1 -> 0 resets the queues, 7.3.2) and initialising it as
 * at power-on. One command is outstanding at a time, so one I/O queue pair serves every
 * namespace and command identifiers never collide. */
#include "defs.h"
#include "x86.h"
#include "nvmeq.h"

#define MAX_NVME 4                 /* controllers */
#define MAX_NVME_NS 8              /* namespaces, over all controllers */
#define QUEUE_ENTRIES 16           /* per queue, admin and I/O (at most CAP.MQES + 1) */
#define IO_TIMEOUT_MS 5000         /* a command outstanding this long means the controller is gone */
#define CHUNK_BYTES 65536u         /* bytes per command, unless MDTS says less */
#define NVME_PAGE 4096u            /* CC.MPS = 0: the memory page size of PRPs */

/* Controller registers (3.1). */
enum { CAP = 0x00, VS = 0x08, INTMS = 0x0C, CC = 0x14, CSTS = 0x1C, AQA = 0x24, ASQ = 0x28, ACQ = 0x30 };
enum { CC_EN = 1u << 0, CC_IOSQES_64 = 6u << 16, CC_IOCQES_16 = 4u << 20 };   /* CSS, MPS, AMS, SHN = 0 */
enum { CSTS_RDY = 1u << 0, CSTS_CFS = 1u << 1 };

struct nvme_queue {
	struct nvme_sqe *sq;
	uint16_t size, tail, qid;
	struct nvme_cq cq;
	int pending;               /* a command submitted and not yet taken from the CQ */
};

struct nvme_ctrl {
	volatile uint8_t *regs;
	unsigned dstrd;
	uint64_t timeout_ms;       /* CAP.TO: how long CSTS.RDY may take to follow CC.EN */
	struct nvme_queue admin, io;
	uint32_t pci_location;
	uint64_t *prp_list;        /* one page, for transfers over two pages */
	uint32_t chunk;            /* bytes per I/O command */
	uint16_t cid;
	int volatile_cache;
	char name[24];
};

struct nvme_ns {
	struct blkdev blk;         /* registered with blk.c; blk.drv points back here */
	struct nvme_ctrl *c;
	uint32_t nsid;
};

static struct nvme_ctrl ctrls[MAX_NVME];
static int nctrls;
static struct nvme_ns nss[MAX_NVME_NS];
static int nnss;
static const struct blk_ops ops;

static uint32_t rd32(const struct nvme_ctrl *c, uint32_t off)
{
	return *(volatile uint32_t *)(c->regs + off);
}

static void wr32(const struct nvme_ctrl *c, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(c->regs + off) = v;
}

static uint64_t rd64(const struct nvme_ctrl *c, uint32_t off)
{
	return (uint64_t)rd32(c, off) | (uint64_t)rd32(c, off + 4) << 32;
}

static void wr64(const struct nvme_ctrl *c, uint32_t off, uint64_t v)
{
	wr32(c, off, (uint32_t)v);
	wr32(c, off + 4, (uint32_t)(v >> 32));
}

static int wait_rdy(const struct nvme_ctrl *c, uint32_t want)
{
	uint64_t start = rdtsc();

	while ((rd32(c, CSTS) & CSTS_RDY) != want) {
		if (rd32(c, CSTS) & CSTS_CFS || tsc_ms(start, rdtsc()) > c->timeout_ms)
			return -1;
		pause();
	}
	return 0;
}

/* Waits (bounded) for the completion of the command in flight on `q` and collects it. */
static int collect(struct nvme_ctrl *c, struct nvme_queue *q, struct nvme_cqe *done)
{
	uint64_t start = rdtsc();

	while (!nvme_cq_take(&q->cq, done)) {
		if (tsc_ms(start, rdtsc()) > IO_TIMEOUT_MS)
			return -1;
		pause();
	}
	q->pending = 0;
	/* Tell the controller the entry is consumed (3.1.25), so it may reuse the slot. */
	wr32(c, (uint32_t)nvme_doorbell(c->dstrd, q->qid, 1), q->cq.head);
	return 0;
}

/* Submits `cmd` on `q` and waits for its completion: 0, or -1 on an error status or timeout. */
static int run(struct nvme_ctrl *c, struct nvme_queue *q, struct nvme_sqe *cmd, struct nvme_cqe *done)
{
	uint16_t cid = ++c->cid;
	uint8_t opcode = (uint8_t)cmd->cdw0;

	cmd->cdw0 = (cmd->cdw0 & 0xFFFF) | (uint32_t)cid << 16;
	q->sq[q->tail] = *cmd;
	q->tail = (uint16_t)((q->tail + 1) % q->size);
	q->pending = 1;
	barrier();
	wr32(c, (uint32_t)nvme_doorbell(c->dstrd, q->qid, 0), q->tail);
	if (collect(c, q, done) < 0) {
		kprintf("%s: command %02x on queue %u timed out\n", c->name, opcode, q->qid);
		return -1;
	}
	if (done->cid != cid || nvme_status(done)) {
		kprintf("%s: command %02x on queue %u failed: status %x (cid %u, expected %u)\n", c->name, opcode, q->qid,
			nvme_status(done), done->cid, cid);
		return -1;
	}
	return 0;
}

static int admin(struct nvme_ctrl *c, uint8_t opcode, uint32_t nsid, void *buf, uint32_t cdw10, uint32_t cdw11)
{
	struct nvme_sqe cmd = { .cdw0 = opcode, .nsid = nsid, .prp1 = (uint64_t)(uintptr_t)buf,
				.cdw10 = cdw10, .cdw11 = cdw11 };
	struct nvme_cqe done;

	return run(c, &c->admin, &cmd, &done);
}

static int queue_init(struct nvme_queue *q, uint16_t qid, uint16_t size)
{
	/* A page each: 16 entries of 64 bytes (SQ) and of 16 bytes (CQ), page aligned (4.1.1). */
	uint8_t *mem = page_alloc(2);

	if (!mem)
		return -1;
	q->sq = (struct nvme_sqe *)mem;
	q->cq = (struct nvme_cq){ (volatile struct nvme_cqe *)(mem + PAGE_SIZE), size, 0, 1 };
	q->size = size;
	q->tail = 0;
	q->qid = qid;
	q->pending = 0;
	return 0;
}

static void add_namespace(struct nvme_ctrl *c, uint32_t nsid, uint8_t *id)
{
	struct nvme_ns *ns = &nss[nnss];
	struct nvme_ns_info info;
	const char *why;

	if (admin(c, NVME_ADMIN_IDENTIFY, nsid, id, NVME_CNS_NAMESPACE, 0) < 0)
		return;
	if (nvme_parse_ns(id, &info, &why) < 0) {
		kprintf("%s ns %u: %s; skipped\n", c->name, nsid, why);
		return;
	}
	memset(ns, 0, sizeof *ns);
	ns->c = c;
	ns->nsid = nsid;
	ns->blk.ops = &ops;
	ns->blk.drv = ns;
	ns->blk.transport = BF_DISK_NVME;
	ns->blk.pci_location = c->pci_location;
	ns->blk.block_size = info.block_size;
	ns->blk.blocks = info.blocks;
	ns->blk.max_bytes = c->chunk;
	ksnprintf(ns->blk.name, sizeof ns->blk.name, "%s ns %u", c->name, nsid);
	nnss++;
	blk_register(&ns->blk);
}

static void probe(const struct pci_dev *pci)
{
	struct nvme_ctrl *c = &ctrls[nctrls];
	uint32_t bar0 = pci_read32(pci, 0x10), min_page, nsids[MAX_NVME_NS];
	uint64_t base = bar0 & ~0xFull, cap;
	struct nvme_ctrl_info info;
	uint8_t *id;

	memset(c, 0, sizeof *c);
	ksnprintf(c->name, sizeof c->name, "nvme %02x:%02x.%x", pci->bus, pci->slot, pci->fn);
	c->pci_location = (uint32_t)pci->bus << 8 | (uint32_t)pci->slot << 3 | pci->fn;
	/* BAR 0 (with BAR 1 when 64-bit) holds the registers (NVMe 2.1.10). */
	if ((bar0 & 0x6) == 0x4)
		base |= (uint64_t)pci_read32(pci, 0x14) << 32;
	if (bar0 & 1 || base == 0 || vm_map_mmio(base, 0x2000) < 0) {
		kprintf("%s: BAR 0 at %lx is not memory space we can map; skipped\n", c->name, base);
		return;
	}
	c->regs = (volatile uint8_t *)(uintptr_t)base;
	/* PCI command register: memory space, bus mastering on; INTx off (we poll). */
	pci_write16(pci, 0x04, (uint16_t)(pci_read16(pci, 0x04) | 0x0002 | 0x0004 | 0x0400));

	cap = rd64(c, CAP);
	c->dstrd = (unsigned)(cap >> 32 & 0xF);
	c->timeout_ms = (cap >> 24 & 0xFF) * 500 + 500;
	min_page = 4096u << (cap >> 48 & 0xF);
	if (!(cap >> 37 & 1) || min_page != NVME_PAGE || (cap & 0xFFFF) + 1 < QUEUE_ENTRIES) {
		kprintf("%s: CAP %lx: no NVM command set, 4 KiB pages or %u-entry queues; skipped\n", c->name, cap,
			QUEUE_ENTRIES);
		return;
	}

	/* 7.6.1 step 1: disable the controller, which drops the firmware's queues. CC.EN may only
	 * be cleared once CSTS.RDY has followed it to 1 (3.1.6). */
	if (rd32(c, CC) & CC_EN) {
		wait_rdy(c, CSTS_RDY);
		wr32(c, CC, rd32(c, CC) & ~CC_EN);
	}
	if (wait_rdy(c, 0) < 0) {
		kprintf("%s: the controller does not stop (CSTS %x); skipped\n", c->name, rd32(c, CSTS));
		return;
	}
	/* Step 2: the admin queues (AQA sizes are 0-based), and every interrupt masked. */
	if (queue_init(&c->admin, 0, QUEUE_ENTRIES) < 0 || queue_init(&c->io, 1, QUEUE_ENTRIES) < 0 ||
	    !(c->prp_list = page_alloc(1)) || !(id = page_alloc(1))) {
		kprintf("%s: no memory for the queues; skipped\n", c->name);
		return;
	}
	wr32(c, AQA, (uint32_t)(QUEUE_ENTRIES - 1) << 16 | (QUEUE_ENTRIES - 1));
	wr64(c, ASQ, (uint64_t)(uintptr_t)c->admin.sq);
	wr64(c, ACQ, (uint64_t)(uintptr_t)c->admin.cq.e);
	wr32(c, INTMS, ~0u);
	/* Steps 3-5: NVM command set, 4 KiB pages, round-robin arbitration, I/O entry sizes of 64
	 * and 16 bytes; enable and wait for ready. */
	wr32(c, CC, CC_IOSQES_64 | CC_IOCQES_16 | CC_EN);
	if (wait_rdy(c, CSTS_RDY) < 0) {
		kprintf("%s: the controller does not become ready (CSTS %x); skipped\n", c->name, rd32(c, CSTS));
		return;
	}
	/* Step 6: Identify Controller. */
	if (admin(c, NVME_ADMIN_IDENTIFY, 0, id, NVME_CNS_CONTROLLER, 0) < 0)
		return;
	nvme_parse_ctrl(id, min_page, &info);
	c->volatile_cache = info.volatile_cache;
	c->chunk = info.max_transfer && info.max_transfer < CHUNK_BYTES ? info.max_transfer : CHUNK_BYTES;
	/* Step 8-9: one I/O queue pair: ask for it (Number of Queues, 0-based counts), then make
	 * the completion queue (physically contiguous, no interrupts) and its submission queue. */
	if (admin(c, NVME_ADMIN_SET_FEATURES, 0, NULL, NVME_FEAT_NUM_QUEUES, 0) < 0 ||
	    admin(c, NVME_ADMIN_CREATE_CQ, 0, (void *)(uintptr_t)c->io.cq.e, (uint32_t)(QUEUE_ENTRIES - 1) << 16 | c->io.qid, 1) < 0 ||
	    admin(c, NVME_ADMIN_CREATE_SQ, 0, c->io.sq, (uint32_t)(QUEUE_ENTRIES - 1) << 16 | c->io.qid,
		  (uint32_t)c->io.qid << 16 | 1) < 0) {
		kprintf("%s: no I/O queue pair; skipped\n", c->name);
		return;
	}
	kprintf("%s: %s, NVMe %u.%u, %u namespace(s), %u KiB per command%s\n", c->name, info.model, rd32(c, VS) >> 16,
		rd32(c, VS) >> 8 & 0xFF, info.namespaces, c->chunk / 1024, c->volatile_cache ? ", write cache" : "");
	nctrls++;
	/* The active namespaces: Identify with CNS 02h lists their NSIDs, ascending, ended by a 0
	 * (NVMe 5.15.2.3; mandatory since 1.1). The page is reused for each namespace's data, so
	 * the list is copied first. */
	if (admin(c, NVME_ADMIN_IDENTIFY, 0, id, NVME_CNS_ACTIVE_NSIDS, 0) < 0)
		return;
	for (int i = 0; i < MAX_NVME_NS; i++)
		nsids[i] = (uint32_t)id[4 * i] | (uint32_t)id[4 * i + 1] << 8 | (uint32_t)id[4 * i + 2] << 16 |
			   (uint32_t)id[4 * i + 3] << 24;
	for (int i = 0; i < MAX_NVME_NS && nsids[i] && nnss < MAX_NVME_NS; i++)
		add_namespace(c, nsids[i], id);
	page_free(id, 1);
}

void nvme_init(void)
{
	for (int i = 0; i < pci_ndevs && nctrls < MAX_NVME; i++) {
		const struct pci_dev *p = &pci_devs[i];
		/* Class 01 (mass storage), subclass 08 (non-volatile memory), interface 02 (NVMe). */
		if (p->class == 0x01 && p->subclass == 0x08 && (pci_read32(p, 0x08) >> 8 & 0xFF) == 0x02)
			probe(p);
	}
}

/* One Read or Write: blk.c hands over at most the controller's chunk (max_bytes). */
static int io(struct nvme_ns *ns, uint8_t opcode, uint64_t lba, uint32_t count, uint8_t *buf)
{
	struct nvme_ctrl *c = ns->c;
	struct nvme_cqe done;
	struct nvme_sqe cmd = { .cdw0 = opcode, .nsid = ns->nsid, .cdw10 = (uint32_t)lba,
				.cdw11 = (uint32_t)(lba >> 32), .cdw12 = count - 1 };   /* NLB is 0-based */

	if (nvme_prps((uint64_t)(uintptr_t)buf, count * ns->blk.block_size, NVME_PAGE, c->prp_list,
		      (uint64_t)(uintptr_t)c->prp_list, &cmd.prp1, &cmd.prp2) < 0)
		panic("%s: buffer %p of %u bytes has no PRPs", ns->blk.name, buf, count * ns->blk.block_size);
	return run(c, &c->io, &cmd, &done);
}

static int nvme_read(struct blkdev *b, uint64_t lba, uint32_t count, void *buf)
{
	return io(b->drv, NVME_IO_READ, lba, count, buf);
}

static int nvme_write(struct blkdev *b, uint64_t lba, uint32_t count, const void *buf)
{
	return io(b->drv, NVME_IO_WRITE, lba, count, (uint8_t *)(uintptr_t)buf);
}

/* Flush (NVM command set 6.8) when the controller has a volatile write cache (VWC); without
 * one every completed write is already durable. */
static int nvme_flush(struct blkdev *b)
{
	struct nvme_ns *ns = b->drv;
	struct nvme_sqe cmd = { .cdw0 = NVME_IO_FLUSH, .nsid = ns->nsid };
	struct nvme_cqe done;

	return ns->c->volatile_cache ? run(ns->c, &ns->c->io, &cmd, &done) : 0;
}

/* On the panic path: a command the panic interrupted is let complete (bounded) and its entry
 * collected, so the queues and phase tags are in step again before the dump's commands. */
static int nvme_quiesce(struct blkdev *b)
{
	struct nvme_ctrl *c = ((struct nvme_ns *)b->drv)->c;
	struct nvme_cqe done;

	for (int i = 0; i < 2; i++) {
		struct nvme_queue *q = i ? &c->io : &c->admin;
		if (!q->pending)
			continue;
		kprintf("%s: a command was in flight at the panic; collecting it\n", c->name);
		if (collect(c, q, &done) < 0)
			return -1;
	}
	return 0;
}

static const struct blk_ops ops = { nvme_read, nvme_write, nvme_flush, nvme_quiesce };
