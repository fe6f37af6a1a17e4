/* mem.c: physical memory. The loader's memory map (bootinfo, sorted by base) says which
 * ranges are BF_MEM_USABLE; this file keeps one bit per 4 KiB page of the span from the lowest
 * to the highest usable page (1 = free) and hands out runs of contiguous pages, zeroed
 * (virtqueues need physically contiguous, zeroed memory). The bitmap itself lives in the first
 * usable run large enough to hold it. Page 0 is never handed out, so a null pointer stays
 * wrong. Freeing a page that is already free panics: it means two owners.
 * Also built for the host by test/kernel, over a fake memory map. */
#include "defs.h"

static uint8_t *bitmap;
static uint64_t first_pfn, npages;   /* the span the bitmap covers */
static uint64_t nfree, hint;         /* hint: where the last search ended */

extern char __kernel_start[], __kernel_end[];

static int is_free(uint64_t i)
{
	return bitmap[i / 8] >> (i % 8) & 1;
}

static void set_free(uint64_t i, int free)
{
	if (free)
		bitmap[i / 8] |= (uint8_t)(1 << (i % 8));
	else
		bitmap[i / 8] &= (uint8_t)~(1 << (i % 8));
}

/* Usable page numbers [*lo, *hi) of region r, clipped to below `limit`; 0 when none. */
static int usable(const struct bf_mem_region *r, uint64_t limit, uint64_t *lo, uint64_t *hi)
{
	uint64_t end = r->base + r->length;

	if (r->type != BF_MEM_USABLE)
		return 0;
	if (end > limit)
		end = limit;
	*lo = (r->base + PAGE_SIZE - 1) / PAGE_SIZE;
	*hi = end / PAGE_SIZE;
	if (*lo == 0)
		*lo = 1;
	return *lo < *hi;
}

/* `limit`: the end of the memory the kernel can address (vm.c's identity map). */
void mem_init(const struct bf_boot_info *bi, uint64_t limit)
{
	const struct bf_mem_region *r = (const struct bf_mem_region *)(uintptr_t)bi->memory_map;
	uint64_t lo, hi, min = UINT64_MAX, max = 0, bytes, kstart, kend;
	uint32_t i;

	kstart = (uint64_t)(uintptr_t)__kernel_start;
	kend = (uint64_t)(uintptr_t)__kernel_end;
	for (i = 0; i < bi->memory_map_count; i++) {
		if (!usable(&r[i], limit, &lo, &hi))
			continue;
		if (lo * PAGE_SIZE < kend && hi * PAGE_SIZE > kstart)
			panic("mem: usable region %lx-%lx overlaps the kernel", r[i].base, r[i].base + r[i].length);
		if (lo < min)
			min = lo;
		if (hi > max)
			max = hi;
	}
	if (max == 0)
		panic("mem: the memory map has no usable memory");
	first_pfn = min;
	npages = max - min;
	bytes = (npages + 7) / 8;

	/* The bitmap goes at the start of the first usable run that holds it. */
	for (i = 0; i < bi->memory_map_count && !bitmap; i++)
		if (usable(&r[i], limit, &lo, &hi) && (hi - lo) * PAGE_SIZE >= bytes)
			bitmap = (uint8_t *)(uintptr_t)(lo * PAGE_SIZE);
	if (!bitmap)
		panic("mem: no usable run holds the %lu-byte page bitmap", bytes);
	memset(bitmap, 0, bytes);

	for (i = 0; i < bi->memory_map_count; i++) {
		if (!usable(&r[i], limit, &lo, &hi))
			continue;
		for (uint64_t p = lo; p < hi; p++)
			set_free(p - first_pfn, 1);
		nfree += hi - lo;
	}
	/* Take the bitmap's own pages. */
	lo = (uint64_t)(uintptr_t)bitmap / PAGE_SIZE;
	for (uint64_t p = lo; p < lo + (bytes + PAGE_SIZE - 1) / PAGE_SIZE; p++) {
		set_free(p - first_pfn, 0);
		nfree--;
	}
	kprintf("mem: %lu MiB free between %lx and %lx\n", nfree * PAGE_SIZE >> 20, min * PAGE_SIZE, max * PAGE_SIZE);
}

/* `n` contiguous zeroed pages, or NULL when no run that long is free. */
void *page_alloc(size_t n)
{
	uint64_t run = 0;

	if (n == 0 || n > npages)
		return NULL;
	/* Next fit: start where the last allocation ended, wrap around once. A run does not wrap:
	 * restart the count at the end of the span. */
	for (uint64_t k = 0; k < npages + n; k++) {
		uint64_t i = (hint + k) % npages;

		if (i == 0)
			run = 0;
		run = is_free(i) ? run + 1 : 0;
		if (run == n) {
			uint64_t first = i + 1 - n;
			for (uint64_t j = first; j <= i; j++)
				set_free(j, 0);
			nfree -= n;
			hint = (i + 1) % npages;
			return memset((void *)(uintptr_t)((first_pfn + first) * PAGE_SIZE), 0, n * PAGE_SIZE);
		}
	}
	return NULL;
}

void page_free(void *p, size_t n)
{
	uint64_t a = (uint64_t)(uintptr_t)p, pfn = a / PAGE_SIZE;

	if (a % PAGE_SIZE || pfn < first_pfn || pfn + n > first_pfn + npages)
		panic("page_free: %p (%zu pages) is not an allocated page run", p, n);
	for (uint64_t i = pfn - first_pfn; i < pfn - first_pfn + n; i++) {
		if (is_free(i))
			panic("page_free: double free of page %lx", (first_pfn + i) * PAGE_SIZE);
		set_free(i, 1);
	}
	nfree += n;
}
