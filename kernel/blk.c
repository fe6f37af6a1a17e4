/* blk.c: the block layer, the one way into a disk. Drivers (virtio_blk.c and whatever drives
 * USB, SATA or NVMe) register each disk they find; bootdisk.c picks the boot disk among them by
 * its GPT; bank.c, config.c and coredump.c read and write only through the calls here, which
 * check every request against the disk before the driver sees it. */
#include "defs.h"

struct blkdev *blkdevs[MAX_BLKDEVS];
int nblkdevs;

void blk_register(struct blkdev *d)
{
	if (d->block_size < 512 || d->block_size > PAGE_SIZE || d->block_size & (d->block_size - 1))
		panic("blk: %s registered with block size %u", d->name, d->block_size);
	if (d->max_bytes < d->block_size) {
		kprintf("blk: %s not registered: %u bytes per command, less than a block of %u\n", d->name,
			d->max_bytes, d->block_size);
		return;
	}
	if (nblkdevs == MAX_BLKDEVS) {
		kprintf("blk: %s not registered: already %d disks\n", d->name, MAX_BLKDEVS);
		return;
	}
	blkdevs[nblkdevs++] = d;
	kprintf("blk: %s: %lu blocks of %u bytes (%lu MiB)%s\n", d->name, d->blocks, d->block_size,
		d->blocks * d->block_size >> 20, d->read_only ? ", read-only" : "");
}

static int in_range(const struct blkdev *d, uint64_t lba, uint32_t count)
{
	return lba <= d->blocks && count <= d->blocks - lba;
}

/* Every driver moves at most max_bytes in one command; the split is done here, once. */
static int transfer(struct blkdev *d, int write, uint64_t lba, uint32_t count, uint8_t *buf)
{
	uint32_t per = d->max_bytes / d->block_size;

	while (count) {
		uint32_t n = count < per ? count : per;
		if ((write ? d->ops->write(d, lba, n, buf) : d->ops->read(d, lba, n, buf)) < 0)
			return -1;
		lba += n;
		count -= n;
		buf += (uint64_t)n * d->block_size;
	}
	return 0;
}

int blk_read(struct blkdev *d, uint64_t lba, uint32_t count, void *buf)
{
	if (!in_range(d, lba, count))
		return -1;
	return transfer(d, 0, lba, count, buf);
}

int blk_write(struct blkdev *d, uint64_t lba, uint32_t count, const void *buf)
{
	if (d->read_only || !in_range(d, lba, count))
		return -1;
	return transfer(d, 1, lba, count, (uint8_t *)(uintptr_t)buf);
}

int blk_flush(struct blkdev *d)
{
	return d->ops->flush ? d->ops->flush(d) : 0;
}

int blk_quiesce(struct blkdev *d)
{
	return d->ops->quiesce ? d->ops->quiesce(d) : 0;
}

const char *blk_transport_name(uint32_t transport)
{
	switch (transport) {
	case BF_DISK_VIRTIO: return "virtio";
	case BF_DISK_USB: return "usb";
	case BF_DISK_SATA: return "sata";
	case BF_DISK_NVME: return "nvme";
	case BF_DISK_SCSI: return "scsi";
	default: return "unknown";
	}
}
