/* banks.c: find the boot banks and read and write their state records (docs/boot-state.md).
 * A bank is any partition of the boot disk whose last 8 KiB hold a valid record, whatever its
 * type or name; the record says whether it is bank A or B. The core-dump partition is found by
 * its type GUID. */
#include "loader.h"
#include "fmt.h"
#include "bfstring.h"

static int gpt_read_cb(void *ctx, uint64_t lba, uint32_t count, void *buf)
{
	return EFI_IS_ERROR(disk_read(ctx, lba, count, buf)) ? -1 : 0;
}

/* First LBA of the state area of a partition. */
static uint64_t area_lba(struct disk *d, const struct gpt_part *p)
{
	return p->last_lba + 1 - BF_STATE_AREA_SIZE / d->sector_size;
}

efi_status banks_find(struct disk *d, struct layout *l)
{
	char err[160];
	if (d->sector_size > BF_STATE_SLOT_SIZE) {
		con_print("bankforge: %u-byte sectors: state slots are 4 KiB, sectors must not be larger\n",
			  d->sector_size);
		return EFI_UNSUPPORTED;
	}
	uint8_t *buf = pages_alloc(GPT_MAX_ENTRY_BYTES + d->sector_size);
	if (!buf)
		return EFI_OUT_OF_RESOURCES;
	memset(l, 0, sizeof *l);
	if (gpt_read(gpt_read_cb, d, d->sector_size, d->last_lba, buf, &l->gpt, err, sizeof err)) {
		con_print("bankforge: %s\n", err);
		pages_free(buf, GPT_MAX_ENTRY_BYTES + d->sector_size);
		return EFI_VOLUME_CORRUPTED;
	}
	if (l->gpt.used_backup)
		con_print("bankforge: GPT: primary copy damaged (%s); using the backup\n", l->gpt.primary_error);

	/* The 8 KiB area is a whole number of sectors for 512- and 4096-byte sectors alike. */
	uint64_t area_sectors = BF_STATE_AREA_SIZE / d->sector_size;
	const struct gpt_part *cd = gpt_find_type(&l->gpt, gpt_type_vmkdiagnostic);
	if (cd) {
		l->has_coredump = 1;
		l->coredump = *cd;
	}
	for (uint32_t i = 0; i < l->gpt.nparts; i++) {
		const struct gpt_part *p = &l->gpt.parts[i];
		if (p == cd)
			continue;
		if (p->last_lba - p->first_lba + 1 < 2 * area_sectors)
			continue;
		struct bf_bank_view v;
		if (EFI_IS_ERROR(disk_read(d, area_lba(d, p), area_sectors, buf)))
			continue;   /* said by disk_read; the other partitions may still hold the banks */
		if (bf_state_read(buf, buf + BF_STATE_SLOT_SIZE, &v) || v.state.bank > BF_BANK_B)
			continue;
		struct bank *b = &l->bank[v.state.bank];
		if (b->found) {
			con_print("bankforge: partition %u also holds bank %c; ignored (partition %u is bank %c)\n",
				  p->index + 1, 'A' + v.state.bank, b->part.index + 1, 'A' + v.state.bank);
			continue;
		}
		b->found = 1;
		b->part = *p;
		b->view = v;
	}
	pages_free(buf, GPT_MAX_ENTRY_BYTES + d->sector_size);
	return EFI_SUCCESS;
}

/* The whole sector holding the record: the record, then zeros (docs/boot-state.md). */
efi_status bank_write(struct disk *d, struct bank *b, int slot, const struct bf_bank_state *s)
{
	uint64_t bytes = d->sector_size > BF_STATE_RECORD_SIZE ? d->sector_size : BF_STATE_RECORD_SIZE;
	uint8_t *sector = pages_alloc(bytes);
	if (!sector)
		return EFI_OUT_OF_RESOURCES;
	memset(sector, 0, bytes);
	bf_state_encode(s, sector);
	uint64_t lba = area_lba(d, &b->part) + (uint64_t)slot * BF_STATE_SLOT_SIZE / d->sector_size;
	efi_status st = disk_write(d, lba, bytes / d->sector_size, sector);
	pages_free(sector, bytes);
	if (EFI_IS_ERROR(st)) {
		con_print("bankforge: bank %c: state write to slot %d failed\n", 'A' + b->view.state.bank, slot);
		return st;
	}
	b->view.present = 1;
	b->view.current_slot = slot;
	b->view.state = *s;
	return EFI_SUCCESS;
}
