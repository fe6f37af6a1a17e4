/* elf64.h: checking a kernel ELF against docs/boot-protocol.md ("The kernel image") and copying
 * its PT_LOAD segments, plain C. The loader allocates the span elf_check reports at its
 * physical address and calls elf_copy into it. */
#ifndef BF_ELF64_H
#define BF_ELF64_H
#include "bftypes.h"

#define ELF_MAX_SEGMENTS 16
#define ELF_MAX_SPAN     (256ull << 20)   /* a kernel image of more than 256 MiB is a damaged file */

struct elf_segment {
	uint64_t paddr, offset, filesz, memsz;
};

struct elf_image {
	uint64_t entry;
	uint64_t lo, hi;          /* page-aligned span of all segments: [lo, hi) */
	uint32_t nsegments;
	struct elf_segment seg[ELF_MAX_SEGMENTS];
};

/* Check an ELF64 x86-64 ET_EXEC whose PT_LOAD segments lie at or above `base`, with paddr ==
 * vaddr, within the file, not overlapping, and an entry point in an executable segment.
 * Returns 0, or -1 with err. */
int elf_check(const uint8_t *file, size_t len, uint64_t base, struct elf_image *out, char *err, size_t errlen);

/* Copy the segments into `span` (the memory at img->lo, img->hi - img->lo bytes): file bytes,
 * then zeros up to memsz; bytes between segments are zeroed too. */
void elf_copy(const uint8_t *file, const struct elf_image *img, uint8_t *span);

#endif
