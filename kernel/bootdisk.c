/* bootdisk.c: which of the disks the kernel drives is the one it booted from, and that disk's
 * partition table. The loader names the disk by its GPT disk GUID (bootinfo). Each registered disk's
 * GPT is read once, through common/gpt.c, the reader and checks the loader used (both CRCs,
 * bounds, the backup copy when the primary is damaged), and the table of the disk that carries
 * the GUID is kept: bank.c, config.c and coredump.c find their partitions in it. Without a
 * driver for the boot disk there is no table and every lookup says so with NULL. */
#include "defs.h"

static struct blkdev *disk;
static struct gpt_disk gpt;      /* the boot disk's table, when disk is set */

static int read_blocks(void *ctx, uint64_t lba, uint32_t count, void *buf)
{
	return blk_read(ctx, lba, count, buf);
}

void bootdisk_init(const struct bf_boot_info *bi)
{
	/* gpt_read's scratch: the largest entry array plus a header block (at most a page). */
	size_t pages = (GPT_MAX_ENTRY_BYTES + PAGE_SIZE) / PAGE_SIZE;
	uint8_t *scratch;
	char err[160];

	if (!(scratch = page_alloc(pages)))
		panic("bootdisk: out of memory for reading partition tables");
	for (int i = 0; i < nblkdevs && !disk; i++) {
		struct blkdev *d = blkdevs[i];

		if (d->block_size > PAGE_SIZE || d->blocks == 0)
			continue;
		/* A disk without a readable GPT is not ours to boot from: nothing to say about it. */
		if (gpt_read(read_blocks, d, d->block_size, d->blocks - 1, scratch, &gpt, err, sizeof err) == 0 &&
		    memcmp(gpt.disk_guid, bi->disk_guid, 16) == 0)
			disk = d;
	}
	page_free(scratch, pages);
	if (!disk) {
		kprintf("bootdisk: no disk we drive carries the boot disk's GPT disk GUID (the loader booted from %s)\n",
			blk_transport_name(bi->disk_transport));
		return;
	}
	kprintf("bootdisk: boot disk is %s\n", disk->name);
	if (gpt.used_backup)
		kprintf("bootdisk: the primary GPT is damaged (%s); using the backup\n", gpt.primary_error);
	/* The loader's LBAs (bootinfo's partitions) count its sectors: they must be these blocks. */
	if (disk->block_size != bi->disk_sector_size)
		panic("bootdisk: the boot disk has %u-byte blocks but the loader saw %u-byte sectors", disk->block_size,
		      bi->disk_sector_size);
}

struct blkdev *bootdisk(void)
{
	return disk;
}

const struct gpt_disk *bootdisk_gpt(void)
{
	return disk ? &gpt : NULL;
}
