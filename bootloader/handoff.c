/* handoff.c: from boot services to the kernel (docs/boot-protocol.md, "The hand-over"): the
 * framebuffer, the ACPI RSDP, the TSC rate, the memory map converted to bf_mem_regions,
 * ExitBootServices, then new page tables, GDT and stack in loader memory, the kernel moved to
 * its address if it had to wait elsewhere, and a SysV call into the kernel.
 *
 * Why our own page tables and GDT: the firmware's live in boot-services memory, which the map
 * hands the kernel as usable; a kernel that reuses that memory before loading its own would
 * overwrite the tables it runs on. Ours identity-map the same addresses (all of the memory map
 * and at least the first 4 GiB) and sit in BF_MEM_LOADER memory. */
#include "loader.h"
#include "bfstring.h"

#define PAGE          4096ull
#define STACK_SIZE    (64 * 1024ull)
#define MB2           (2ull << 20)
#define GB1           (1ull << 30)
#define MAX_MAPPED    (512 * GB1)   /* one PML4 entry's worth: far beyond any firmware's map */
#define PTE_P         1ull
#define PTE_RW        2ull
#define PTE_PS        0x80ull

static const efi_guid gop_guid = EFI_GRAPHICS_OUTPUT_PROTOCOL_GUID, acpi20_guid = EFI_ACPI_20_TABLE_GUID,
	acpi10_guid = EFI_ACPI_10_TABLE_GUID;

static void fill_framebuffer(struct bf_framebuffer *fb)
{
	efi_graphics_output *gop;
	memset(fb, 0, sizeof *fb);
	if (EFI_IS_ERROR(g_bs->locate_protocol(&gop_guid, NULL, (void **)&gop)) || !gop->mode || !gop->mode->info)
		return;   /* no screen: base 0 says so */
	const efi_gop_mode_info *mi = gop->mode->info;
	/* Only the two 32-bit layouts are described to the kernel; a bitmask or Blt-only mode has
	 * no framebuffer it could use without more information. */
	if (mi->pixel_format != EFI_PIXEL_RGBX && mi->pixel_format != EFI_PIXEL_BGRX)
		return;
	fb->base = gop->mode->frame_buffer_base;
	fb->width = mi->width;
	fb->height = mi->height;
	fb->pitch = mi->pixels_per_scan_line * 4;
	fb->format = mi->pixel_format == EFI_PIXEL_BGRX ? BF_FB_BGRX : BF_FB_RGBX;
}

static uint64_t find_rsdp(void)
{
	const efi_configuration_table *t = g_st->configuration_table;
	for (uint64_t i = 0; i < g_st->number_of_table_entries; i++)
		if (guid_eq(&t[i].vendor_guid, &acpi20_guid))
			return (uint64_t)t[i].vendor_table;
	for (uint64_t i = 0; i < g_st->number_of_table_entries; i++)
		if (guid_eq(&t[i].vendor_guid, &acpi10_guid))
			return (uint64_t)t[i].vendor_table;
	return 0;
}

static uint32_t region_type(uint32_t efi_type)
{
	switch (efi_type) {
	case EFI_CONVENTIONAL_MEMORY:
	case EFI_BOOT_SERVICES_CODE:
	case EFI_BOOT_SERVICES_DATA:
		return BF_MEM_USABLE;
	case EFI_LOADER_CODE:
	case EFI_LOADER_DATA:
		return BF_MEM_LOADER;
	case EFI_ACPI_RECLAIM_MEMORY:
		return BF_MEM_ACPI;
	default:   /* runtime services, MMIO, ACPI NVS, unusable, persistent, unknown */
		return BF_MEM_RESERVED;
	}
}

int span_reclaimable(uint64_t lo, uint64_t hi)
{
	uint64_t size = 0, key, desc_size, covered = 0;
	uint32_t desc_ver;
	if (g_bs->get_memory_map(&size, NULL, &key, &desc_size, &desc_ver) != EFI_BUFFER_TOO_SMALL)
		return 0;
	size += 8 * desc_size;   /* room for the allocation just below */
	uint64_t cap = size;
	uint8_t *map = pages_alloc(cap);
	if (!map || EFI_IS_ERROR(g_bs->get_memory_map(&size, (efi_memory_descriptor *)map, &key, &desc_size, &desc_ver)))
		return 0;
	for (uint64_t off = 0; off + desc_size <= size; off += desc_size) {
		const efi_memory_descriptor *d = (const efi_memory_descriptor *)(map + off);
		uint64_t b = d->physical_start, e = b + d->number_of_pages * PAGE;
		if (region_type(d->type) == BF_MEM_USABLE && b < hi && lo < e)
			covered += (e < hi ? e : hi) - (b > lo ? b : lo);
	}
	pages_free(map, cap);
	return covered == hi - lo;
}

/* Append a region, merged with the previous one when adjacent and of the same type. */
static int emit(struct bf_mem_region *r, int *m, int cap, uint64_t base, uint64_t len, uint32_t type)
{
	if (*m && r[*m - 1].type == type && r[*m - 1].base + r[*m - 1].length == base) {
		r[*m - 1].length += len;
		return 0;
	}
	if (*m == cap)
		return -1;
	r[(*m)++] = (struct bf_mem_region){ base, len, type, 0 };
	return 0;
}

/* Convert the firmware map: sorted by base (in tmp), adjacent regions of one type merged, and a
 * staged kernel's span typed BF_MEM_LOADER. No firmware calls: this runs between GetMemoryMap
 * and ExitBootServices. Returns the count, or -1 with why. */
static int convert_map(const uint8_t *map, uint64_t map_size, uint64_t desc_size, struct bf_mem_region *tmp,
		       struct bf_mem_region *r, int cap, const struct kernel_span *k, const char **why)
{
	int n = 0;
	*why = "more memory regions than expected";
	for (uint64_t off = 0; off + desc_size <= map_size; off += desc_size) {
		const efi_memory_descriptor *d = (const efi_memory_descriptor *)(map + off);
		struct bf_mem_region x = { d->physical_start, d->number_of_pages * PAGE, region_type(d->type), 0 };
		if (n == cap)
			return -1;
		int i = n++;
		while (i > 0 && tmp[i - 1].base > x.base) {
			tmp[i] = tmp[i - 1];
			i--;
		}
		tmp[i] = x;
	}
	uint64_t lo = k->lo, hi = k->staged ? k->lo + k->size : k->lo;
	int m = 0;
	for (int i = 0; i < n; i++) {
		uint64_t b = tmp[i].base, e = b + tmp[i].length;
		uint32_t t = tmp[i].type;
		if (b >= hi || e <= lo) {
			if (emit(r, &m, cap, b, e - b, t))
				return -1;
			continue;
		}
		if (t != BF_MEM_USABLE) {
			*why = "the kernel's memory is now in use";
			return -1;
		}
		uint64_t cb = b > lo ? b : lo, ce = e < hi ? e : hi;
		if ((b < cb && emit(r, &m, cap, b, cb - b, t)) || emit(r, &m, cap, cb, ce - cb, BF_MEM_LOADER) ||
		    (ce < e && emit(r, &m, cap, ce, e - ce, t)))
			return -1;
	}
	return m;
}

/* Identity map [0, top) with 2 MiB pages; returns the PML4's address (CR3), 0 on failure. */
static uint64_t build_page_tables(uint64_t top)
{
	uint64_t npd = (top + GB1 - 1) / GB1;
	uint64_t *t = pages_alloc((2 + npd) * PAGE);
	if (!t)
		return 0;
	uint64_t *pml4 = t, *pdpt = t + 512, *pd = t + 1024;
	memset(t, 0, 2 * PAGE);
	pml4[0] = (uint64_t)pdpt | PTE_P | PTE_RW;
	for (uint64_t g = 0; g < npd; g++)
		pdpt[g] = (uint64_t)(pd + g * 512) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < npd * 512; i++)
		pd[i] = i * MB2 | PTE_P | PTE_RW | PTE_PS;
	return (uint64_t)pml4;
}

efi_status handoff(struct bf_boot_info *bi, uint64_t entry, const struct kernel_span *k)
{
	fill_framebuffer(&bi->fb);
	bi->acpi_rsdp = find_rsdp();

	/* The TSC rate against the firmware's timer: 10 ms is enough for a rate the kernel uses
	 * for timeouts and boot timings, not as a clock. */
	uint64_t t0 = rdtsc();
	g_bs->stall(10000);
	bi->tsc_hz = (rdtsc() - t0) * 100;

	/* Size everything from a first look at the map, with room for the allocations below and
	 * for the firmware's own changes before the final GetMemoryMap. */
	uint64_t map_size = 0, key, desc_size;
	uint32_t desc_ver;
	efi_status st = g_bs->get_memory_map(&map_size, NULL, &key, &desc_size, &desc_ver);
	if (st != EFI_BUFFER_TOO_SMALL) {
		con_print("bankforge: GetMemoryMap failed (status %llx)\n", st);
		return st;
	}
	uint64_t map_cap = map_size + 16 * desc_size;
	int region_cap = (int)(map_cap / desc_size) + 2;   /* + the pieces of a split region */
	uint8_t *map = pages_alloc(map_cap);
	struct bf_mem_region *regions = pages_alloc((uint64_t)region_cap * sizeof *regions);
	struct bf_mem_region *sorted = pages_alloc((uint64_t)region_cap * sizeof *sorted);
	uint8_t *stack = pages_alloc(STACK_SIZE);
	uint64_t *gdt = pages_alloc(PAGE);
	if (!map || !regions || !sorted || !stack || !gdt)
		return EFI_OUT_OF_RESOURCES;
	map_size = map_cap;
	st = g_bs->get_memory_map(&map_size, (efi_memory_descriptor *)map, &key, &desc_size, &desc_ver);
	if (EFI_IS_ERROR(st)) {
		con_print("bankforge: GetMemoryMap failed (status %llx)\n", st);
		return st;
	}
	uint64_t top = 4 * GB1;
	for (uint64_t off = 0; off + desc_size <= map_size; off += desc_size) {
		const efi_memory_descriptor *d = (const efi_memory_descriptor *)(map + off);
		uint64_t end = d->physical_start + d->number_of_pages * PAGE;
		if (end > top)
			top = end;
	}
	if (bi->fb.base + (uint64_t)bi->fb.pitch * bi->fb.height > top)
		top = bi->fb.base + (uint64_t)bi->fb.pitch * bi->fb.height;
	if (top > MAX_MAPPED) {
		con_print("bankforge: memory reaches %llx; the loader maps at most 512 GiB\n", top);
		return EFI_UNSUPPORTED;
	}
	uint64_t cr3 = build_page_tables(top);
	if (!cr3)
		return EFI_OUT_OF_RESOURCES;
	gdt[0] = 0;
	gdt[1] = 0x00209a0000000000ull;   /* 0x08: 64-bit code, present, DPL 0 */
	gdt[2] = 0x0000920000000000ull;   /* 0x10: data, present, writable */
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } gdtr = { 3 * 8 - 1, (uint64_t)gdt };

	/* The map must be fetched again right before ExitBootServices: it changed with the
	 * allocations above. ExitBootServices fails with EFI_INVALID_PARAMETER when the map changed
	 * in between (a firmware event can allocate); then fetch and try once more. Nothing may be
	 * printed on ConOut between the two calls. */
	for (int attempt = 0;; attempt++) {
		map_size = map_cap;
		st = g_bs->get_memory_map(&map_size, (efi_memory_descriptor *)map, &key, &desc_size, &desc_ver);
		if (EFI_IS_ERROR(st))
			break;
		const char *why;
		int n = convert_map(map, map_size, desc_size, sorted, regions, region_cap, k, &why);
		if (n < 0) {
			/* Boot services are still up: nothing has failed that the firmware cannot show. */
			con_print("bankforge: memory map: %s\n", why);
			return EFI_LOAD_ERROR;
		}
		bi->memory_map = (uint64_t)regions;
		bi->memory_map_count = (uint32_t)n;
		bi->tsc_kernel_loaded = rdtsc();
		st = g_bs->exit_boot_services(g_image, key);
		if (st != EFI_INVALID_PARAMETER || attempt == 1)
			break;
	}
	if (EFI_IS_ERROR(st)) {
		con_print("bankforge: ExitBootServices failed (status %llx)\n", st);
		return st;
	}
	con_exit_boot_services();

	/* Interrupts off (the firmware's IDT is in memory the kernel may reuse), our tables and GDT,
	 * the new stack (16-byte aligned before the call, as SysV wants), the direction flag clear,
	 * a staged kernel moved into place (only now: the firmware's stack may lie in its span), and
	 * the boot info in RDI: the SysV AMD64 call. The kernel never returns; if it did, halt. */
	uint64_t stack_top = (uint64_t)stack + STACK_SIZE;
	register uint64_t staged __asm__("r8") = k->staged;
	register uint64_t dest __asm__("r9") = k->lo;
	register uint64_t bytes __asm__("r10") = k->size;
	__asm__ volatile(
		"cli\n\t"
		"mov %%rcx, %%cr3\n\t"
		"lgdt (%%rdx)\n\t"
		"pushq $0x08\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"mov $0x10, %%eax\n\t"
		"mov %%eax, %%ds\n\t"
		"mov %%eax, %%es\n\t"
		"mov %%eax, %%ss\n\t"
		"mov %%eax, %%fs\n\t"
		"mov %%eax, %%gs\n\t"
		"mov %%rsi, %%rsp\n\t"
		"xor %%ebp, %%ebp\n\t"
		"cld\n\t"
		"test %%r8, %%r8\n\t"
		"jz 3f\n\t"
		"mov %%rdi, %%r11\n\t"
		"mov %%r8, %%rsi\n\t"
		"mov %%r9, %%rdi\n\t"
		"mov %%r10, %%rcx\n\t"
		"rep movsb\n\t"
		"mov %%r11, %%rdi\n"
		"3:\n\t"
		"call *%%rbx\n"
		"2:\n\t"
		"hlt\n\t"
		"jmp 2b"
		:
		: "c"(cr3), "d"(&gdtr), "S"(stack_top), "D"(bi), "b"(entry), "r"(staged), "r"(dest), "r"(bytes)
		: "rax", "r11", "memory");
	__builtin_unreachable();
}
