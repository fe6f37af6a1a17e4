/* pci.c: PCI configuration space through the legacy mechanism #1 (I/O ports 0xCF8 address,
 * 0xCFC data; PCI Local Bus Specification 3.0, 3.2.2.3.2), and a list of the functions found
 * on buses 0-255 at boot. Segment 0 only, which is all that mechanism reaches. */
#include "defs.h"
#include "x86.h"

#define PCI_ADDR 0xCF8
#define PCI_DATA 0xCFC
#define PCI_MAX_DEVS 64

struct pci_dev pci_devs[PCI_MAX_DEVS];
int pci_ndevs;

static uint32_t addr(uint8_t bus, uint8_t slot, uint8_t fn, uint8_t off)
{
	return 0x80000000u | (uint32_t)bus << 16 | (uint32_t)slot << 11 | (uint32_t)fn << 8 | (off & 0xFC);
}

static uint32_t read32(uint8_t bus, uint8_t slot, uint8_t fn, uint8_t off)
{
	outl(PCI_ADDR, addr(bus, slot, fn, off));
	return inl(PCI_DATA);
}

uint32_t pci_read32(const struct pci_dev *d, uint8_t off)
{
	return read32(d->bus, d->slot, d->fn, off);
}

uint16_t pci_read16(const struct pci_dev *d, uint8_t off)
{
	return (uint16_t)(pci_read32(d, off) >> (off & 2) * 8);
}

/* A 16-bit write through the data port's matching half, so the neighbouring register (the
 * status register next to the command register has write-1-to-clear bits) is not written. */
void pci_write16(const struct pci_dev *d, uint8_t off, uint16_t v)
{
	outl(PCI_ADDR, addr(d->bus, d->slot, d->fn, off));
	outw((uint16_t)(PCI_DATA + (off & 2)), v);
}

static void add(uint8_t bus, uint8_t slot, uint8_t fn, uint32_t id)
{
	struct pci_dev *d;
	uint32_t class;

	if (pci_ndevs == PCI_MAX_DEVS) {
		kprintf("pci: more than %d functions; ignoring %02x:%02x.%x\n", PCI_MAX_DEVS, bus, slot, fn);
		return;
	}
	d = &pci_devs[pci_ndevs++];
	class = read32(bus, slot, fn, 0x08);
	*d = (struct pci_dev){ bus, slot, fn, (uint16_t)id, (uint16_t)(id >> 16), (uint8_t)(class >> 24),
			       (uint8_t)(class >> 16), (uint16_t)(read32(bus, slot, fn, 0x2C) >> 16) };
	kprintf("pci: %02x:%02x.%x %04x:%04x class %02x.%02x\n", bus, slot, fn, d->vendor, d->device, d->class,
		d->subclass);
}

void pci_init(void)
{
	for (int bus = 0; bus < 256; bus++) {
		for (int slot = 0; slot < 32; slot++) {
			uint32_t id = read32((uint8_t)bus, (uint8_t)slot, 0, 0);
			int nfn;

			if ((id & 0xFFFF) == 0xFFFF)   /* no device answers */
				continue;
			/* Header type bit 7: a multi-function device, whose functions 1-7 may exist. */
			nfn = read32((uint8_t)bus, (uint8_t)slot, 0, 0x0C) >> 16 & 0x80 ? 8 : 1;
			add((uint8_t)bus, (uint8_t)slot, 0, id);
			for (int fn = 1; fn < nfn; fn++) {
				id = read32((uint8_t)bus, (uint8_t)slot, (uint8_t)fn, 0);
				if ((id & 0xFFFF) != 0xFFFF)
					add((uint8_t)bus, (uint8_t)slot, (uint8_t)fn, id);
			}
		}
	}
}

void pci_write32(const struct pci_dev *d, uint8_t off, uint32_t v)
{
	outl(PCI_ADDR, addr(d->bus, d->slot, d->fn, off));
	outl(PCI_DATA, v);
}

/* The standard sizing (PCI 3.0, 6.2.5.1): with memory decoding off, write all ones to the BAR;
 * the bits that stay zero are the size; then put the address back. */
int pci_bar_mem(const struct pci_dev *d, int bar, uint64_t *addr_out, uint64_t *size)
{
	uint8_t off = (uint8_t)(0x10 + 4 * bar);
	uint32_t lo = pci_read32(d, off), hi = 0, slo, shi = 0xFFFFFFFFu;
	uint16_t cmd = pci_read16(d, 0x04);
	int is64 = (lo & 6) == 4;

	if (lo & 1 || bar > (is64 ? 4 : 5))
		return -1;   /* I/O space */
	if (is64)
		hi = pci_read32(d, off + 4);
	pci_write16(d, 0x04, (uint16_t)(cmd & ~0x0002));
	pci_write32(d, off, 0xFFFFFFFFu);
	slo = pci_read32(d, off);
	pci_write32(d, off, lo);
	if (is64) {
		pci_write32(d, off + 4, 0xFFFFFFFFu);
		shi = pci_read32(d, off + 4);
		pci_write32(d, off + 4, hi);
	}
	pci_write16(d, 0x04, cmd);
	*addr_out = ((uint64_t)hi << 32 | lo) & ~0xFull;
	*size = ~((uint64_t)shi << 32 | (slo & ~0xFu)) + 1;
	if (!is64)
		*size &= 0xFFFFFFFFu;
	return *addr_out && *size ? 0 : -1;
}
