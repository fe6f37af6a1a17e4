/* disk.c: the disk the loader was read from, as the firmware's whole-disk Block IO. The loaded
 * image's device is the ESP partition; its device path is the disk's path plus a Hard Drive
 * node, so cutting that node off and asking LocateDevicePath for Block IO yields the disk (and
 * not some other disk that happens to carry the same GPT GUIDs, e.g. a second stick flashed with
 * the same image). The same path tells the transport and, through PCI IO, the controller. */
#include "loader.h"
#include "bfstring.h"
#include "byteorder.h"

#define VIRTIO_PCI_VENDOR 0x1af4

uint64_t dp_node_len(const efi_device_path *n)
{
	return get16(n->length);
}

const efi_device_path *dp_next(const efi_device_path *n)
{
	return (const efi_device_path *)((const uint8_t *)n + dp_node_len(n));
}

static int dp_is_end(const efi_device_path *n)
{
	/* A node shorter than its header would loop forever: treat it as the end. */
	return n->type == DP_END || dp_node_len(n) < sizeof *n;
}

static uint32_t transport_of(const efi_device_path *path, uint64_t len, efi_pci_io *pci)
{
	uint32_t t = BF_DISK_UNKNOWN;
	for (const efi_device_path *n = path; (const uint8_t *)n < (const uint8_t *)path + len; n = dp_next(n)) {
		if (n->type != DP_MESSAGING)
			continue;
		switch (n->subtype) {
		case DP_MSG_USB: case DP_MSG_USB_CLASS: case DP_MSG_USB_WWID: t = BF_DISK_USB; break;
		case DP_MSG_SATA: case DP_MSG_ATAPI: t = BF_DISK_SATA; break;
		case DP_MSG_NVME: t = BF_DISK_NVME; break;
		case DP_MSG_SCSI: t = BF_DISK_SCSI; break;
		}
	}
	/* virtio-blk has no messaging node: the disk is the PCI function itself. */
	uint16_t vendor = 0;
	if (t == BF_DISK_UNKNOWN && pci && !EFI_IS_ERROR(pci->pci_read(pci, EFI_PCI_IO_WIDTH_UINT16, 0, 1, &vendor)) &&
	    vendor == VIRTIO_PCI_VENDOR)
		t = BF_DISK_VIRTIO;
	return t;
}

efi_status disk_open(struct disk *d)
{
	static const efi_guid li_guid = EFI_LOADED_IMAGE_PROTOCOL_GUID, dp_guid = EFI_DEVICE_PATH_PROTOCOL_GUID,
		bio_guid = EFI_BLOCK_IO_PROTOCOL_GUID, pci_guid = EFI_PCI_IO_PROTOCOL_GUID;
	efi_loaded_image *li;
	efi_device_path *part_path;
	efi_status st = g_bs->handle_protocol(g_image, &li_guid, (void **)&li);
	if (!EFI_IS_ERROR(st))
		st = g_bs->handle_protocol(li->device_handle, &dp_guid, (void **)&part_path);
	if (EFI_IS_ERROR(st)) {
		con_print("bankforge: disk: no device path for the loader's partition (status %llx)\n", st);
		return st;
	}
	/* The disk's path: everything before the Hard Drive node. */
	const efi_device_path *n = part_path;
	while (!dp_is_end(n) && !(n->type == DP_MEDIA && n->subtype == DP_MEDIA_HARDDRIVE))
		n = dp_next(n);
	if (dp_is_end(n)) {
		con_print("bankforge: disk: the loader was not read from a partition\n");
		return EFI_NOT_FOUND;
	}
	uint64_t len = (uint64_t)((const uint8_t *)n - (const uint8_t *)part_path);
	uint8_t *copy;
	st = g_bs->allocate_pool(EFI_LOADER_DATA, len + sizeof(efi_device_path), (void **)&copy);
	if (EFI_IS_ERROR(st)) {
		con_print("bankforge: disk: out of memory\n");
		return st;
	}
	memcpy(copy, part_path, len);
	efi_device_path *end = (efi_device_path *)(copy + len);
	*end = (efi_device_path){ DP_END, DP_END_ENTIRE, { sizeof *end, 0 } };

	efi_device_path *rest = (efi_device_path *)copy;
	st = g_bs->locate_device_path(&bio_guid, &rest, &d->handle);
	if (EFI_IS_ERROR(st) || !dp_is_end(rest)) {
		con_print("bankforge: disk: no Block IO for the whole disk (status %llx)\n", st);
		return EFI_IS_ERROR(st) ? st : EFI_NOT_FOUND;
	}
	st = g_bs->handle_protocol(d->handle, &bio_guid, (void **)&d->bio);
	if (EFI_IS_ERROR(st) || d->bio->media->logical_partition || !d->bio->media->media_present) {
		con_print("bankforge: disk: the disk's Block IO is unusable (status %llx)\n", st);
		return EFI_IS_ERROR(st) ? st : EFI_DEVICE_ERROR;
	}
	d->sector_size = d->bio->media->block_size;
	d->last_lba = d->bio->media->last_block;
	d->path = (efi_device_path *)copy;
	d->path_len = len;

	efi_pci_io *pci = NULL;
	efi_handle pci_handle;
	rest = (efi_device_path *)copy;
	d->pci_location = ~0u;
	if (!EFI_IS_ERROR(g_bs->locate_device_path(&pci_guid, &rest, &pci_handle)) &&
	    !EFI_IS_ERROR(g_bs->handle_protocol(pci_handle, &pci_guid, (void **)&pci))) {
		uint64_t seg, bus, dev, fn;
		if (!EFI_IS_ERROR(pci->get_location(pci, &seg, &bus, &dev, &fn)))
			d->pci_location = (uint32_t)(seg << 16 | bus << 8 | dev << 3 | fn);
	}
	d->transport = transport_of(d->path, len, pci);
	return EFI_SUCCESS;
}

efi_status disk_read(struct disk *d, uint64_t lba, uint64_t count, void *buf)
{
	efi_status st = d->bio->read_blocks(d->bio, d->bio->media->media_id, lba, count * d->sector_size, buf);
	if (EFI_IS_ERROR(st))
		con_print("bankforge: disk: read of %llu sectors at LBA %llu failed (status %llx)\n", count, lba, st);
	return st;
}

/* Write and flush: a state record counts as written only once it is past the disk's cache. */
efi_status disk_write(struct disk *d, uint64_t lba, uint64_t count, const void *buf)
{
	efi_status st = d->bio->write_blocks(d->bio, d->bio->media->media_id, lba, count * d->sector_size, buf);
	if (!EFI_IS_ERROR(st))
		st = d->bio->flush_blocks(d->bio);
	if (EFI_IS_ERROR(st))
		con_print("bankforge: disk: write of %llu sectors at LBA %llu failed (status %llx)\n", count, lba, st);
	return st;
}
