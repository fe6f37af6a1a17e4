/* vm.c: the kernel's own GDT and page tables. The loader hands over on a GDT and identity map
 * of its own, in loader memory, which the kernel may reclaim (common/bootinfo.h); so the kernel
 * builds what it runs on inside its own image, in .bss: a flat 64-bit GDT, and an identity map
 * with 2 MiB pages of everything below vm_top (at least 4 GiB, to cover the local APIC, I/O
 * APIC and PCI hole, and at least every memory-map region and the framebuffer). Device registers
 * above that (OVMF puts 64-bit BARs high, e.g. an NVMe controller's at 896 GiB) are added to the
 * identity map by vm_map_mmio, uncached, from a small static pool of table pages.
 * Formats: SDM vol. 3, 3.4.5 (segment descriptors) and 4.5 (4-level paging). */
#include "defs.h"
#include "x86.h"

#define GiB (1ull << 30)
#define MAX_GIB 64           /* identity map at most this much: 64 page directories, 256 KiB */

enum { PTE_P = 1, PTE_W = 2, PTE_PWT = 0x08, PTE_PCD = 0x10, PTE_PS = 0x80 };
#define MMIO_TABLES 8        /* page directories and pointer tables for registers above vm_top */
#define CR4_LA57 (1ull << 12)

/* Null, 64-bit code (KERNEL_CS), data (KERNEL_DS). Limits and bases are ignored in long mode. */
static const uint64_t gdt[3] = { 0, 0x00af9a000000ffffull, 0x00cf92000000ffffull };

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[MAX_GIB][512] __attribute__((aligned(4096)));
static uint64_t mmio_tables[MMIO_TABLES][512] __attribute__((aligned(4096)));
static int nmmio_tables;

uint64_t vm_top;

static void load_gdt(void)
{
	struct dtr d = { sizeof gdt - 1, (uint64_t)(uintptr_t)gdt };

	/* CS can only be reloaded by a far transfer: return to the next instruction through lretq
	 * with the new selector on the stack. */
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %2, %%ax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%ss\n\t"
			 "movw %%ax, %%fs\n\t"
			 "movw %%ax, %%gs"
			 : : "m"(d), "i"(KERNEL_CS), "i"(KERNEL_DS) : "rax", "memory");
}

void vm_init(const struct bf_boot_info *bi)
{
	const struct bf_mem_region *r = (const struct bf_mem_region *)(uintptr_t)bi->memory_map;
	uint64_t top = 4 * GiB, gib;

	if (read_cr4() & CR4_LA57)
		panic("vm: the loader left 5-level paging on; the kernel builds 4-level tables");
	for (uint32_t i = 0; i < bi->memory_map_count; i++)
		if (r[i].base + r[i].length > top)
			top = r[i].base + r[i].length;
	if (bi->fb.base && bi->fb.base + (uint64_t)bi->fb.pitch * bi->fb.height > top)
		top = bi->fb.base + (uint64_t)bi->fb.pitch * bi->fb.height;
	gib = (top + GiB - 1) / GiB;
	if (gib > MAX_GIB) {
		kprintf("vm: memory ends at %lu GiB; mapping the first %d GiB only\n", gib, MAX_GIB);
		gib = MAX_GIB;
	}
	vm_top = gib * GiB;

	/* Every entry is written, present or not: nothing relies on .bss being zero. */
	for (uint64_t i = 0; i < 512; i++) {
		pml4[i] = 0;
		pdpt[i] = i < gib ? (uint64_t)(uintptr_t)pd[i] | PTE_P | PTE_W : 0;
	}
	pml4[0] = (uint64_t)(uintptr_t)pdpt | PTE_P | PTE_W;
	for (uint64_t g = 0; g < gib; g++)
		for (uint64_t i = 0; i < 512; i++)
			pd[g][i] = (g * GiB + (i << 21)) | PTE_P | PTE_W | PTE_PS;

	load_gdt();
	write_cr3((uint64_t)(uintptr_t)pml4);
	kprintf("vm: identity map of %lu GiB in 2 MiB pages\n", gib);
}

/* The table an entry points to, made (from mmio_tables) when the entry is not present; NULL
 * when the pool is used up. */
static uint64_t *table(uint64_t *entry)
{
	if (!(*entry & PTE_P)) {
		if (nmmio_tables == MMIO_TABLES)
			return NULL;
		memset(mmio_tables[nmmio_tables], 0, PAGE_SIZE);
		*entry = (uint64_t)(uintptr_t)mmio_tables[nmmio_tables++] | PTE_P | PTE_W;
	}
	return (uint64_t *)(uintptr_t)(*entry & ~0xFFFull);
}

/* Device registers must not be cached (SDM vol. 3, 11.12.3: PCD and PWT set select PAT entry 3,
 * UC, under the power-on PAT, which nothing here changes). Firmware usually makes the PCI hole
 * uncacheable through the MTRRs too, but registers above 4 GiB may sit in a write-back range, and
 * OVMF puts 64-bit BARs far above the identity map (an NVMe controller's at 896 GiB). */
int vm_map_mmio(uint64_t phys, uint64_t len)
{
	uint64_t end = phys + len;

	if (len == 0 || end < phys || end > (1ull << 47))   /* the lower canonical half only */
		return -1;
	for (uint64_t a = phys & ~((1ull << 21) - 1); a < end; a += 1ull << 21) {
		uint64_t *dir, *pdir;

		if (!(dir = table(&pml4[a >> 39 & 511])) || !(pdir = table(&dir[a >> 30 & 511])))
			return -1;
		pdir[a >> 21 & 511] = a | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT;
	}
	write_cr3(read_cr3());   /* drop whatever the TLB holds for the old entries */
	return 0;
}
