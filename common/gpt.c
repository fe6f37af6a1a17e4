/* gpt.c: read the GUID Partition Table (UEFI 2.10, 5.3.2-5.3.3), plain C. Both copies carry a
 * header CRC and an entry-array CRC; the primary is used when it verifies, else the backup, so a
 * disk with one damaged copy still boots (and the caller says which copy it used). */
#include "gpt.h"
#include "crc32.h"
#include "fmt.h"
#include "bfstring.h"
#include "byteorder.h"

#define GPT_SIGNATURE "EFI PART"
#define GPT_HEADER_MIN 92

/* bf_fmt's %llu, whatever uint64_t is on the target (unsigned long in the kernel and on the host). */
typedef unsigned long long ull;

static int is_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

/* Check the header at `lba` and its entry array; fill out. -1 with err on any inconsistency. */
static int read_copy(gpt_read_fn read, void *ctx, uint32_t ss, uint64_t last_lba, uint64_t lba,
		     uint8_t *scratch, struct gpt_disk *out, char *err, size_t errlen)
{
	uint8_t *h = scratch, *entries = scratch + ss;
	if (lba < 1 || lba > last_lba)
		return bf_fmt(err, errlen, "header LBA %llu outside the disk", (ull)lba), -1;
	if (read(ctx, lba, 1, h))
		return bf_fmt(err, errlen, "cannot read LBA %llu", (ull)lba), -1;
	if (memcmp(h, GPT_SIGNATURE, 8))
		return bf_fmt(err, errlen, "no GPT signature at LBA %llu", (ull)lba), -1;
	uint32_t hsize = get32(h + 12);
	if (hsize < GPT_HEADER_MIN || hsize > ss)
		return bf_fmt(err, errlen, "header size %u", hsize), -1;
	uint32_t want = get32(h + 16);
	uint8_t zero[4] = { 0 };
	uint32_t crc = bf_crc32(0, h, 16);
	crc = bf_crc32(crc, zero, 4);
	crc = bf_crc32(crc, h + 20, hsize - 20);
	if (crc != want)
		return bf_fmt(err, errlen, "header CRC mismatch at LBA %llu", (ull)lba), -1;
	if (get64(h + 24) != lba)
		return bf_fmt(err, errlen, "header at LBA %llu says it is at %llu", (ull)lba, (ull)get64(h + 24)), -1;

	uint64_t first = get64(h + 40), last = get64(h + 48), elba = get64(h + 72);
	uint32_t count = get32(h + 80), esize = get32(h + 84), ecrc = get32(h + 88);
	if (first > last || last >= last_lba || first < 2)
		return bf_fmt(err, errlen, "usable range %llu..%llu does not fit the disk", (ull)first, (ull)last), -1;
	if (esize < 128 || esize % 8 || count == 0 || (uint64_t)count * esize > GPT_MAX_ENTRY_BYTES)
		return bf_fmt(err, errlen, "entry array of %u x %u bytes", count, esize), -1;
	uint64_t bytes = (uint64_t)count * esize, nsec = (bytes + ss - 1) / ss;
	/* The array sits outside the usable range and never on a header sector. */
	if (elba < 2 || nsec > last_lba || elba > last_lba - nsec || (elba <= last && elba + nsec > first))
		return bf_fmt(err, errlen, "entry array at LBA %llu (%llu sectors) misplaced", (ull)elba, (ull)nsec), -1;
	if (read(ctx, elba, (uint32_t)nsec, entries))
		return bf_fmt(err, errlen, "cannot read the entry array at LBA %llu", (ull)elba), -1;
	if (bf_crc32(0, entries, bytes) != ecrc)
		return bf_fmt(err, errlen, "entry array CRC mismatch"), -1;

	memcpy(out->disk_guid, h + 56, 16);
	out->first_usable = first;
	out->last_usable = last;
	out->nparts = 0;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *e = entries + (size_t)i * esize;
		if (is_zero(e, 16))
			continue;
		uint64_t pf = get64(e + 32), pl = get64(e + 40);
		if (pf > pl || pf < first || pl > last)
			return bf_fmt(err, errlen, "partition %u: LBA %llu..%llu outside %llu..%llu", i + 1, (ull)pf,
				      (ull)pl, (ull)first, (ull)last), -1;
		if (out->nparts == GPT_MAX_PARTS)
			return bf_fmt(err, errlen, "more than %d partitions", GPT_MAX_PARTS), -1;
		struct gpt_part *p = &out->parts[out->nparts++];
		p->index = i;
		memcpy(p->type_guid, e, 16);
		memcpy(p->guid, e + 16, 16);
		p->first_lba = pf;
		p->last_lba = pl;
		for (int k = 0; k < 36; k++)
			p->name[k] = get16(e + 56 + 2 * k);
	}
	return 0;
}

int gpt_read(gpt_read_fn read, void *ctx, uint32_t sector_size, uint64_t last_lba, uint8_t *scratch,
	     struct gpt_disk *out, char *err, size_t errlen)
{
	if (sector_size < 512 || sector_size > 65536 || (sector_size & (sector_size - 1)) || last_lba < 3)
		return bf_fmt(err, errlen, "GPT: unusable disk geometry (%u-byte sectors, last LBA %llu)",
			      sector_size, (ull)last_lba), -1;
	char perr[64];
	out->used_backup = 0;
	out->primary_error[0] = 0;
	if (read_copy(read, ctx, sector_size, last_lba, 1, scratch, out, perr, sizeof perr) == 0)
		return 0;
	/* The primary header may be gone entirely, so look for the backup where the spec puts it
	 * (the last LBA) rather than where the primary's alternate field says. */
	char berr[64];
	if (read_copy(read, ctx, sector_size, last_lba, last_lba, scratch, out, berr, sizeof berr) == 0) {
		out->used_backup = 1;
		bf_fmt(out->primary_error, sizeof out->primary_error, "%s", perr);
		return 0;
	}
	return bf_fmt(err, errlen, "GPT: primary: %s; backup: %s", perr, berr), -1;
}

const uint8_t gpt_type_vmkdiagnostic[16] = { 0x80, 0x53, 0x27, 0x9d, 0xad, 0x40, 0xdb, 0x11,
					     0xbf, 0x97, 0x00, 0x0c, 0x29, 0x11, 0xd1, 0xb8 };

const struct gpt_part *gpt_find_type(const struct gpt_disk *g, const uint8_t type_guid[16])
{
	for (uint32_t i = 0; i < g->nparts; i++)
		if (memcmp(g->parts[i].type_guid, type_guid, 16) == 0)
			return &g->parts[i];
	return NULL;
}

const struct gpt_part *gpt_find_name(const struct gpt_disk *g, const char *name)
{
	size_t n = strlen(name);

	if (n > 36)
		return NULL;
	for (uint32_t i = 0; i < g->nparts; i++) {
		const uint16_t *u = g->parts[i].name;
		size_t k = 0;
		while (k < n && u[k] == (uint8_t)name[k])
			k++;
		if (k == n && (n == 36 || u[n] == 0))
			return &g->parts[i];
	}
	return NULL;
}

const struct gpt_part *gpt_find_range(const struct gpt_disk *g, uint64_t first_lba, uint64_t last_lba)
{
	for (uint32_t i = 0; i < g->nparts; i++)
		if (g->parts[i].first_lba == first_lba && g->parts[i].last_lba == last_lba)
			return &g->parts[i];
	return NULL;
}
