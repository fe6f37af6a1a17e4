/* ahci.c: SATA disks behind an AHCI host bus adapter (q35's built-in ICH9 controller, and any
 * other that PCI class 01.06.01 finds), polled, one command slot per port.
 *
 * References: Serial ATA AHCI 1.3.1 ("AHCI"): 3.1 and 3.3 (HBA and port registers), 4.2
 * (command list, received FIS, command table), 5.5 (issuing a command), 6.2.2 (error
 * recovery), 10.1.2 (system software initialisation), 10.4.3 (HBA reset), 10.6 (BIOS/OS
 * handoff); ACS-3 for the ATA commands. The FIS, command header, PRD table and IDENTIFY data
 * are built and read by ata.c, which the host tests run.
 *
 * The firmware drove this controller until ExitBootServices and left its own command lists
 * and received-FIS areas (in memory the kernel now owns) programmed into the ports. Taking
 * over is AHCI 10.1.2: claim ownership, stop every port's command and FIS engines, point them
 * at our own memory and start them again. A port that will not stop makes us reset the HBA
 * (10.4.3) and start over from a clean controller. */
#include "defs.h"
#include "x86.h"
#include "ata.h"
#include "mmio.h"

#define MAX_AHCI_PORTS 8           /* disks, over all controllers */
#define IO_TIMEOUT_MS 5000         /* a command outstanding this long means the device is gone */
#define STOP_TIMEOUT_MS 500        /* AHCI 10.1.2 step 3: PxCMD.CR and FR clear within 500 ms */
#define PRDS 8                     /* PRD entries per command table */
#define CHUNK_BYTES 65536u         /* bytes per command: well inside any controller's limits */

/* Generic host control (AHCI 3.1). */
enum { CAP = 0x00, GHC = 0x04, IS = 0x08, PI = 0x0C, VS = 0x10, CAP2 = 0x24, BOHC = 0x28 };
enum { CAP_S64A = 1u << 31, CAP_SCLO = 1u << 24 };
enum { GHC_AE = 1u << 31, GHC_IE = 1u << 1, GHC_HR = 1u << 0 };
enum { CAP2_BOH = 1u << 0 };
enum { BOHC_BOS = 1u << 0, BOHC_OOS = 1u << 1, BOHC_BB = 1u << 4 };

/* Port registers (AHCI 3.3), at 0x100 + 0x80 * port. */
enum { PxCLB = 0x00, PxCLBU = 0x04, PxFB = 0x08, PxFBU = 0x0C, PxIS = 0x10, PxIE = 0x14, PxCMD = 0x18,
       PxTFD = 0x20, PxSIG = 0x24, PxSSTS = 0x28, PxSERR = 0x30, PxCI = 0x38 };
enum { CMD_ST = 1u << 0, CMD_CLO = 1u << 3, CMD_FRE = 1u << 4, CMD_FR = 1u << 14, CMD_CR = 1u << 15 };
enum { IS_TFES = 1u << 30 };
enum { TFD_ERR = 1u << 0, TFD_DRQ = 1u << 3, TFD_DF = 1u << 5, TFD_BSY = 1u << 7 };
#define SIG_ATA 0x00000101u        /* PxSIG of an ATA disk (ATAPI is 0xEB140101) */
#define SSTS_DET_PRESENT 3u        /* PxSSTS.DET: device present, Phy communication established */

/* Where a port's structures sit in its one page (4.2): the command list (32 headers of 32
 * bytes, 1 KiB aligned), the received-FIS area (256 bytes, 256 aligned), the command table of
 * slot 0 (128 aligned: the FIS area of 0x80 bytes, then the PRD table). */
enum { OFF_CL = 0x000, OFF_FIS = 0x400, OFF_CT = 0x800, CT_PRDT = 0x80 };

struct cmd_header {                /* AHCI 4.2.2 */
	uint32_t dw0;
	volatile uint32_t prdbc;   /* bytes transferred, written by the HBA */
	uint32_t ctba, ctbau;
	uint32_t reserved[4];
};

struct ahci_port {
	struct blkdev blk;         /* registered with blk.c; blk.drv points back here */
	volatile uint8_t *regs;    /* this port's register block */
	volatile uint8_t *hba;     /* the controller's generic registers */
	uint8_t *page;             /* command list, received FIS, command table */
	int flush_ext;
};

static struct ahci_port ports[MAX_AHCI_PORTS];
static int nports;
static const struct blk_ops ops;

/* AHCI 10.1.2 step 3: a port is idle when ST, CR, FRE and FR are all clear. Clear ST and wait
 * for CR, then clear FRE and wait for FR. */
static int port_stop(volatile uint8_t *pr)
{
	mmio_wr32(pr, PxCMD, mmio_rd32(pr, PxCMD) & ~CMD_ST);
	if (mmio_wait32(pr, PxCMD, CMD_CR, 0, STOP_TIMEOUT_MS) < 0)
		return -1;
	mmio_wr32(pr, PxCMD, mmio_rd32(pr, PxCMD) & ~CMD_FRE);
	return mmio_wait32(pr, PxCMD, CMD_FR, 0, STOP_TIMEOUT_MS);
}

/* Starts the command engine once the device is not busy (AHCI 10.3.1: ST may be set only
 * while FRE is set and TFD.STS.BSY, DRQ are clear). With CLO the HBA can be told to ignore a
 * stale BSY left by the firmware's last command. */
static int port_start(struct ahci_port *p)
{
	volatile uint8_t *pr = p->regs;

	if (mmio_wait32(pr, PxTFD, TFD_BSY | TFD_DRQ, 0, 1000) < 0) {
		if (!(mmio_rd32(p->hba, CAP) & CAP_SCLO))
			return -1;
		mmio_wr32(pr, PxCMD, mmio_rd32(pr, PxCMD) | CMD_CLO);
		if (mmio_wait32(pr, PxCMD, CMD_CLO, 0, STOP_TIMEOUT_MS) < 0)
			return -1;
	}
	mmio_wr32(pr, PxCMD, mmio_rd32(pr, PxCMD) | CMD_ST);
	return 0;
}

/* AHCI 6.2.2.1, non-queued error recovery: stop the port (which clears PxCI), clear the error
 * bits, start it again. Returns 0 when the port runs again. */
static int port_recover(struct ahci_port *p)
{
	if (port_stop(p->regs) < 0)
		return -1;
	mmio_wr32(p->regs, PxSERR, ~0u);
	mmio_wr32(p->regs, PxIS, ~0u);
	mmio_wr32(p->regs, PxCMD, mmio_rd32(p->regs, PxCMD) | CMD_FRE);
	return port_start(p);
}

/* One command in slot 0, polled (AHCI 5.5): build the table and header, clear the port's
 * interrupt status, set PxCI bit 0, wait until the HBA clears it or reports a task-file error. */
static int issue(struct ahci_port *p, uint8_t command, uint64_t lba, uint32_t count, void *buf, uint32_t bytes,
		 int write)
{
	volatile uint8_t *pr = p->regs;
	struct cmd_header *h = (struct cmd_header *)(p->page + OFF_CL);
	uint8_t *ct = p->page + OFF_CT;
	int prds = 0;
	uint64_t start;

	if (mmio_rd32(pr, PxCI) & 1) {
		kprintf("%s: slot 0 still busy; recovering the port\n", p->blk.name);
		if (port_recover(p) < 0)
			return -1;
	}
	ata_fis_h2d(ct, command, lba, count);
	if (buf && (prds = ahci_fill_prdt((struct ahci_prd *)(ct + CT_PRDT), PRDS, (uint64_t)(uintptr_t)buf, bytes)) < 0)
		panic("%s: buffer %p of %u bytes does not fit a PRD table", p->blk.name, buf, bytes);
	h->dw0 = ahci_cmd_dw0(write, (uint16_t)prds);
	h->prdbc = 0;
	h->ctba = (uint32_t)(uintptr_t)ct;
	h->ctbau = (uint32_t)((uint64_t)(uintptr_t)ct >> 32);
	mmio_wr32(pr, PxIS, ~0u);
	barrier();
	mmio_wr32(pr, PxCI, 1);

	start = rdtsc();
	for (;;) {
		if (mmio_rd32(pr, PxIS) & IS_TFES)
			break;
		if (!(mmio_rd32(pr, PxCI) & 1))
			break;
		if (tsc_ms(start, rdtsc()) > IO_TIMEOUT_MS) {
			kprintf("%s: command %02x at LBA %lu timed out\n", p->blk.name, command, lba);
			port_recover(p);
			return -1;
		}
		pause();
	}
	barrier();
	if (mmio_rd32(pr, PxIS) & IS_TFES || mmio_rd32(pr, PxTFD) & (TFD_ERR | TFD_DF)) {
		kprintf("%s: command %02x at LBA %lu failed: status %02x error %02x\n", p->blk.name, command, lba,
			mmio_rd32(pr, PxTFD) & 0xFF, mmio_rd32(pr, PxTFD) >> 8 & 0xFF);
		port_recover(p);
		return -1;
	}
	if (buf && h->prdbc != bytes && !write) {
		kprintf("%s: command %02x at LBA %lu moved %u of %u bytes\n", p->blk.name, command, lba, h->prdbc, bytes);
		return -1;
	}
	return 0;
}

/* AHCI 10.6: when the HBA supports BIOS/OS handoff, ask the firmware to let go (set OOS), wait
 * for it to clear BOS, then give a busy firmware (BB) up to 2 s to finish. */
static void handoff(volatile uint8_t *hba, const char *name)
{
	if (!(mmio_rd32(hba, CAP2) & CAP2_BOH))
		return;
	mmio_wr32(hba, BOHC, mmio_rd32(hba, BOHC) | BOHC_OOS);
	if (mmio_wait32(hba, BOHC, BOHC_BOS, 0, 25) == 0 && !(mmio_rd32(hba, BOHC) & BOHC_BB))
		return;
	if (mmio_wait32(hba, BOHC, BOHC_BOS | BOHC_BB, 0, 2000) < 0)
		kprintf("ahci %s: the firmware kept the controller (BOHC %x); taking it anyway\n", name, mmio_rd32(hba, BOHC));
}

/* AHCI 10.4.3: GHC.HR resets the HBA (not the devices); it clears itself within 1 s. AE must be
 * set again afterwards. */
static int hba_reset(volatile uint8_t *hba)
{
	mmio_wr32(hba, GHC, mmio_rd32(hba, GHC) | GHC_HR);
	if (mmio_wait32(hba, GHC, GHC_HR, 0, 1000) < 0)
		return -1;
	mmio_wr32(hba, GHC, GHC_AE);
	return 0;
}

static void port_probe(volatile uint8_t *hba, int n, const struct pci_dev *pci)
{
	volatile uint8_t *pr = hba + 0x100 + 0x80 * n;
	struct ahci_port *p = &ports[nports];
	struct ata_identity idn;
	const char *why;
	uint8_t *id;

	/* Only a port with a device and an established link (PxSSTS.DET = 3) holding an ATA disk
	 * (PxSIG, from the device's first D2H FIS) is ours. */
	if ((mmio_rd32(pr, PxSSTS) & 0xF) != SSTS_DET_PRESENT || mmio_rd32(pr, PxSIG) != SIG_ATA)
		return;
	memset(p, 0, sizeof *p);
	p->regs = pr;
	p->hba = hba;
	ksnprintf(p->blk.name, sizeof p->blk.name, "ahci %02x:%02x.%x port %d", pci->bus, pci->slot, pci->fn, n);
	/* 10.1.2 step 5: our command list and received-FIS area, then FIS receive on. A page plus
	 * one for IDENTIFY's data; without 64-bit addressing (CAP.S64A) both must lie below 4 GiB. */
	p->page = page_alloc(2);
	if (!p->page || (!(mmio_rd32(hba, CAP) & CAP_S64A) && (uint64_t)(uintptr_t)p->page >> 32)) {
		kprintf("%s: no memory for the command list; skipped\n", p->blk.name);
		return;
	}
	id = p->page + PAGE_SIZE;
	mmio_wr32(pr, PxCLB, (uint32_t)(uintptr_t)(p->page + OFF_CL));
	mmio_wr32(pr, PxCLBU, (uint32_t)((uint64_t)(uintptr_t)p->page >> 32));
	mmio_wr32(pr, PxFB, (uint32_t)(uintptr_t)(p->page + OFF_FIS));
	mmio_wr32(pr, PxFBU, (uint32_t)((uint64_t)(uintptr_t)p->page >> 32));
	/* Step 6 and 7: clear stale errors and interrupt status; no port interrupts (we poll). */
	mmio_wr32(pr, PxSERR, ~0u);
	mmio_wr32(pr, PxIE, 0);
	mmio_wr32(pr, PxIS, ~0u);
	mmio_wr32(pr, PxCMD, mmio_rd32(pr, PxCMD) | CMD_FRE);
	if (port_start(p) < 0) {
		kprintf("%s: the device stays busy; skipped\n", p->blk.name);
		return;
	}

	/* IDENTIFY DEVICE: size, logical sector size, 48-bit addressing, FLUSH CACHE EXT. */
	if (issue(p, ATA_IDENTIFY_DEVICE, 0, 0, id, 512, 0) < 0)
		return;
	if (ata_parse_identify(id, &idn, &why) < 0) {
		kprintf("%s: %s; skipped\n", p->blk.name, why);
		return;
	}
	p->flush_ext = idn.flush_ext;
	p->blk.ops = &ops;
	p->blk.drv = p;
	p->blk.transport = BF_DISK_SATA;
	p->blk.pci_location = (uint32_t)pci->bus << 8 | (uint32_t)pci->slot << 3 | pci->fn;
	p->blk.block_size = idn.sector_size;
	p->blk.blocks = idn.sectors;
	p->blk.max_bytes = CHUNK_BYTES;
	kprintf("%s: %s\n", p->blk.name, idn.model);
	nports++;
	blk_register(&p->blk);
}

static void probe(const struct pci_dev *pci)
{
	uint32_t bar5 = pci_read32(pci, 0x24), pi;
	volatile uint8_t *hba;
	char name[16];
	int reset = 0;

	ksnprintf(name, sizeof name, "%02x:%02x.%x", pci->bus, pci->slot, pci->fn);
	/* ABAR, the HBA's registers, is BAR 5 (AHCI 2.1.11): 32-bit memory space. */
	if (bar5 & 1 || (bar5 & ~0xFu) == 0 || vm_map_mmio(bar5 & ~0xFu, 0x1100) < 0) {
		kprintf("ahci %s: ABAR %x is not memory space we can map; skipped\n", name, bar5);
		return;
	}
	hba = (volatile uint8_t *)(uintptr_t)(bar5 & ~0xFu);
	/* PCI command register: memory space on, bus mastering on (the HBA DMAs the command lists
	 * and data), INTx off (we poll). */
	pci_write16(pci, 0x04, (uint16_t)(pci_read16(pci, 0x04) | 0x0002 | 0x0004 | 0x0400));

	handoff(hba, name);
	/* 10.1.2 step 1: AHCI mode (GHC.AE) and no interrupts from the HBA (GHC.IE clear). */
	mmio_wr32(hba, GHC, (mmio_rd32(hba, GHC) | GHC_AE) & ~GHC_IE);
	pi = mmio_rd32(hba, PI);
	/* Step 3: every implemented port idle; a port that will not stop gets the HBA reset. */
	for (int n = 0; n < 32; n++) {
		if (pi & 1u << n && port_stop(hba + 0x100 + 0x80 * n) < 0) {
			kprintf("ahci %s: port %d does not stop; resetting the HBA\n", name, n);
			reset = 1;
			break;
		}
	}
	if (reset && hba_reset(hba) < 0) {
		kprintf("ahci %s: the HBA does not come out of reset; skipped\n", name);
		return;
	}
	mmio_wr32(hba, IS, ~0u);
	kprintf("ahci %s: AHCI %x.%x, %u slots, ports %x\n", name, mmio_rd32(hba, VS) >> 16, mmio_rd32(hba, VS) & 0xFFFF,
		(mmio_rd32(hba, CAP) >> 8 & 0x1F) + 1, pi);
	for (int n = 0; n < 32 && nports < MAX_AHCI_PORTS; n++)
		if (pi & 1u << n)
			port_probe(hba, n, pci);
}

void ahci_init(void)
{
	for (int i = 0; i < pci_ndevs; i++) {
		const struct pci_dev *p = &pci_devs[i];
		/* Class 01 (mass storage), subclass 06 (SATA), programming interface 01 (AHCI 1.x). */
		if (p->class == 0x01 && p->subclass == 0x06 && (pci_read32(p, 0x08) >> 8 & 0xFF) == 0x01)
			probe(p);
	}
}

static int ahci_read(struct blkdev *b, uint64_t lba, uint32_t count, void *buf)
{
	return issue(b->drv, ATA_READ_DMA_EXT, lba, count, buf, count * b->block_size, 0);
}

static int ahci_write(struct blkdev *b, uint64_t lba, uint32_t count, const void *buf)
{
	return issue(b->drv, ATA_WRITE_DMA_EXT, lba, count, (uint8_t *)(uintptr_t)buf, count * b->block_size, 1);
}

/* FLUSH CACHE EXT when the device has it (ACS-3 7.11). A device without it has no volatile
 * cache to flush that the command set would let us reach. */
static int ahci_flush(struct blkdev *b)
{
	struct ahci_port *p = b->drv;

	return p->flush_ext ? issue(p, ATA_FLUSH_CACHE_EXT, 0, 0, NULL, 0, 0) : 0;
}

/* On the panic path: a command the panic interrupted is let finish (bounded); a port that still
 * has it outstanding is stopped and started again, which drops it (AHCI 6.2.2.1). */
static int ahci_quiesce(struct blkdev *b)
{
	struct ahci_port *p = b->drv;

	if (mmio_wait32(p->regs, PxCI, 1, 0, IO_TIMEOUT_MS) == 0 && !(mmio_rd32(p->regs, PxIS) & IS_TFES))
		return 0;
	kprintf("%s: a command was in flight at the panic; restarting the port\n", p->blk.name);
	return port_recover(p);
}

static const struct blk_ops ops = { ahci_read, ahci_write, ahci_flush, ahci_quiesce };
