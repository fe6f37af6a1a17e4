/* elf.c: kernel ELF checks and segment copy (ELF-64 Object File Format 1.5, System V ABI
 * AMD64 supplement), plain C. Every field the loader trusts is range-checked against the file
 * length with overflow-safe arithmetic: a bank that verifies against SHA256SUMS may still hold
 * a bad build, and that must end in LOAD_FAILED, not in a wild copy. */
#include "elf64.h"
#include "fmt.h"
#include "bfstring.h"
#include "byteorder.h"

#define PT_LOAD 1
#define PF_X 1
#define ET_EXEC 2
#define EM_X86_64 62
#define EHDR_SIZE 64
#define PHDR_SIZE 56
#define PAGE 4096ull

int elf_check(const uint8_t *f, size_t len, uint64_t base, struct elf_image *out, char *err, size_t errlen)
{
	if (len < EHDR_SIZE || memcmp(f, "\x7f" "ELF", 4))
		return bf_fmt(err, errlen, "not an ELF file"), -1;
	if (f[4] != 2 || f[5] != 1 || f[6] != 1)
		return bf_fmt(err, errlen, "not a little-endian ELF64 file"), -1;
	if (get16(f + 16) != ET_EXEC || get16(f + 18) != EM_X86_64)
		return bf_fmt(err, errlen, "not an x86-64 executable (type %u, machine %u)", get16(f + 16), get16(f + 18)), -1;
	uint64_t phoff = get64(f + 32);
	uint16_t phentsize = get16(f + 54), phnum = get16(f + 56);
	if (phentsize != PHDR_SIZE || phnum == 0 || phoff > len || (uint64_t)phnum * PHDR_SIZE > len - phoff)
		return bf_fmt(err, errlen, "program headers outside the file"), -1;

	out->entry = get64(f + 24);
	out->nsegments = 0;
	out->lo = UINT64_MAX;
	out->hi = 0;
	int entry_ok = 0;
	for (uint16_t i = 0; i < phnum; i++) {
		const uint8_t *ph = f + phoff + (uint64_t)i * PHDR_SIZE;
		if (get32(ph) != PT_LOAD)
			continue;
		uint32_t flags = get32(ph + 4);
		uint64_t off = get64(ph + 8), vaddr = get64(ph + 16), paddr = get64(ph + 24);
		uint64_t filesz = get64(ph + 32), memsz = get64(ph + 40);
		if (memsz == 0)
			continue;
		if (paddr != vaddr)
			return bf_fmt(err, errlen, "segment %u: p_paddr %llx != p_vaddr %llx", i, paddr, vaddr), -1;
		if (filesz > memsz || off > len || filesz > len - off)
			return bf_fmt(err, errlen, "segment %u: bytes outside the file", i), -1;
		if (paddr < base || memsz > ELF_MAX_SPAN || paddr - base > ELF_MAX_SPAN - memsz)
			return bf_fmt(err, errlen, "segment %u: at %llx, outside %llx..+256 MiB", i, paddr, base), -1;
		for (uint32_t j = 0; j < out->nsegments; j++) {
			const struct elf_segment *s = &out->seg[j];
			if (paddr < s->paddr + s->memsz && s->paddr < paddr + memsz)
				return bf_fmt(err, errlen, "segment %u overlaps another", i), -1;
		}
		if (out->nsegments == ELF_MAX_SEGMENTS)
			return bf_fmt(err, errlen, "more than %d PT_LOAD segments", ELF_MAX_SEGMENTS), -1;
		out->seg[out->nsegments++] = (struct elf_segment){ paddr, off, filesz, memsz };
		if (paddr < out->lo)
			out->lo = paddr & ~(PAGE - 1);
		if (paddr + memsz > out->hi)
			out->hi = (paddr + memsz + PAGE - 1) & ~(PAGE - 1);
		if ((flags & PF_X) && out->entry >= paddr && out->entry - paddr < memsz)
			entry_ok = 1;
	}
	if (out->nsegments == 0)
		return bf_fmt(err, errlen, "no PT_LOAD segment"), -1;
	if (out->hi - out->lo > ELF_MAX_SPAN)
		return bf_fmt(err, errlen, "segments span more than 256 MiB"), -1;
	if (!entry_ok)
		return bf_fmt(err, errlen, "entry point %llx not in an executable segment", out->entry), -1;
	return 0;
}

void elf_copy(const uint8_t *file, const struct elf_image *img, uint8_t *span)
{
	memset(span, 0, img->hi - img->lo);
	for (uint32_t i = 0; i < img->nsegments; i++) {
		const struct elf_segment *s = &img->seg[i];
		memcpy(span + (s->paddr - img->lo), file + s->offset, s->filesz);
	}
}
