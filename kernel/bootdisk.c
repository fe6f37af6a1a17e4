/* bootdisk.c: which of the disks the kernel drives is the one it booted from, and that disk's
 * partition table. The loader names the disk by its GPT disk GUID, its transport and the PCI
 * function of its controller (bootinfo). Each registered disk's GPT is read once, through
 * common/gpt.c, the reader and checks the loader used (both CRCs, bounds, the backup copy when
 * the primary is damaged); diskpick.c then takes the one disk that carries the GUID where the
 * loader booted from, and refuses when there are several (copies of one image behind one
 * controller) or none. bank.c, config.c and coredump.c find their partitions in the table kept
 * here; without a boot disk every lookup says so with NULL and bootdisk_why says why. */
#include "defs.h"
#include "diskpick.h"

static struct blkdev *disk;
static struct gpt_disk gpt;      /* the boot disk's table, when disk is set */
static const char *why = "no driver for the boot disk";

static int read_blocks(void *ctx, uint64_t lba, uint32_t count, void *buf)
{
	return blk_read(ctx, lba, count, buf);
}

static int read_gpt(struct blkdev *d, uint8_t *scratch, struct gpt_disk *out)
{
	char err[160];

	if (d->block_size > PAGE_SIZE || d->blocks == 0)
		return -1;
	/* A disk without a readable GPT is not ours to boot from: nothing to say about it. */
	return gpt_read(read_blocks, d, d->block_size, d->blocks - 1, scratch, out, err, sizeof err);
}

static void where(const struct bf_boot_info *bi, char *buf, size_t n)
{
	if (bi->pci_location == ~0u)
		ksnprintf(buf, n, "%s", blk_transport_name(bi->disk_transport));
	else
		ksnprintf(buf, n, "%s at %02x:%02x.%x", blk_transport_name(bi->disk_transport), bi->pci_location >> 8 & 0xFF,
			  bi->pci_location >> 3 & 0x1F, bi->pci_location & 7);
}

void bootdisk_init(const struct bf_boot_info *bi)
{
	/* gpt_read's scratch: the largest entry array plus a header block (at most a page). */
	size_t pages = (GPT_MAX_ENTRY_BYTES + PAGE_SIZE) / PAGE_SIZE;
	struct disk_candidate cand[MAX_BLKDEVS];
	uint8_t *scratch;
	char loc[48];
	int pick, matches = 0;

	if (!(scratch = page_alloc(pages)))
		panic("bootdisk: out of memory for reading partition tables");
	where(bi, loc, sizeof loc);
	for (int i = 0; i < nblkdevs; i++) {
		struct blkdev *d = blkdevs[i];

		cand[i] = (struct disk_candidate){ 0, d->transport, d->pci_location };
		cand[i].guid_match = read_gpt(d, scratch, &gpt) == 0 && memcmp(gpt.disk_guid, bi->disk_guid, 16) == 0;
		matches += cand[i].guid_match;
		if (cand[i].guid_match && !diskpick_located(&cand[i], bi->disk_transport, bi->pci_location))
			kprintf("bootdisk: %s carries the boot disk's GPT disk GUID but the loader booted from %s; not touched\n",
				d->name, loc);
	}
	pick = diskpick(cand, nblkdevs, bi->disk_transport, bi->pci_location);
	/* The chosen disk's table again: gpt holds the last disk's. */
	if (pick >= 0 && read_gpt(blkdevs[pick], scratch, &gpt) < 0)
		panic("bootdisk: the GPT of %s read once and not again", blkdevs[pick]->name);
	page_free(scratch, pages);
	if (pick == DISKPICK_AMBIGUOUS) {
		why = "the boot disk is not told apart from a copy";
		kprintf("bootdisk: %d disks at %s carry the boot disk's GPT disk GUID (copies of one image); writing to none of them\n",
			matches, loc);
		return;
	}
	if (pick == DISKPICK_NONE) {
		kprintf("bootdisk: no disk we drive carries the boot disk's GPT disk GUID (the loader booted from %s)\n", loc);
		return;
	}
	disk = blkdevs[pick];
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

const char *bootdisk_why(void)
{
	return why;
}
