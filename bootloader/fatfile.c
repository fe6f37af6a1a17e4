/* fatfile.c: read whole files from a bank's FAT volume through the firmware's Simple File System
 * (OVMF's FAT driver reads FAT16). The bank's partition handle is the one whose device path is
 * the boot disk's path plus a Hard Drive node with the GPT entry's number and unique GUID. */
#include "loader.h"
#include "fmt.h"
#include "bfstring.h"
#include "byteorder.h"

static const efi_guid bio_guid = EFI_BLOCK_IO_PROTOCOL_GUID, dp_guid = EFI_DEVICE_PATH_PROTOCOL_GUID,
	sfs_guid = EFI_SIMPLE_FILE_SYSTEM_PROTOCOL_GUID, info_guid = EFI_FILE_INFO_GUID;

static int is_partition_of(const struct disk *d, const struct gpt_part *p, const efi_device_path *path)
{
	if (memcmp(path, d->path, d->path_len))
		return 0;
	const efi_device_path *hd = (const efi_device_path *)((const uint8_t *)path + d->path_len);
	if (hd->type != DP_MEDIA || hd->subtype != DP_MEDIA_HARDDRIVE || dp_node_len(hd) < DP_HD_LENGTH)
		return 0;
	const uint8_t *raw = (const uint8_t *)hd;
	return get32(raw + DP_HD_PARTITION_NUMBER) == p->index + 1 && memcmp(raw + DP_HD_SIGNATURE, p->guid, 16) == 0 &&
	       dp_next(hd)->type == DP_END;
}

/* The partition's file system root; connects the FAT driver when no one has yet. */
static efi_status open_root(struct disk *d, const struct gpt_part *p, efi_file **root)
{
	efi_handle *handles;
	uint64_t count;
	efi_status st = g_bs->locate_handle_buffer(EFI_BY_PROTOCOL, &bio_guid, NULL, &count, &handles);
	if (EFI_IS_ERROR(st))
		return st;
	efi_handle h = NULL;
	for (uint64_t i = 0; i < count && !h; i++) {
		efi_device_path *path;
		if (!EFI_IS_ERROR(g_bs->handle_protocol(handles[i], &dp_guid, (void **)&path)) &&
		    is_partition_of(d, p, path))
			h = handles[i];
	}
	g_bs->free_pool(handles);
	if (!h)
		return EFI_NOT_FOUND;
	efi_simple_file_system *fs;
	st = g_bs->handle_protocol(h, &sfs_guid, (void **)&fs);
	if (EFI_IS_ERROR(st)) {
		/* Firmware that connects only the boot path has not bound a driver to the bank yet. */
		g_bs->connect_controller(h, NULL, NULL, 1);
		st = g_bs->handle_protocol(h, &sfs_guid, (void **)&fs);
	}
	if (EFI_IS_ERROR(st))
		return st;
	return fs->open_volume(fs, root);
}

efi_status fat_read_file(struct disk *d, const struct gpt_part *p, const char *name, uint8_t **data,
			 uint64_t *size, char *err, uint64_t errlen)
{
	efi_file *root, *f;
	efi_status st = open_root(d, p, &root);
	if (EFI_IS_ERROR(st)) {
		bf_fmt(err, errlen, "%s: no file system on partition %u (status %llx)", name, p->index + 1, st);
		return st;
	}
	char16 wname[64];   /* bank file names are at most 47 bytes */
	size_t n = strlen(name);
	if (n >= sizeof wname / sizeof wname[0]) {
		root->close(root);
		bf_fmt(err, errlen, "%s: name too long", name);
		return EFI_INVALID_PARAMETER;
	}
	for (size_t i = 0; i <= n; i++)
		wname[i] = (uint8_t)name[i];
	st = root->open(root, &f, wname, EFI_FILE_MODE_READ, 0);
	root->close(root);
	if (EFI_IS_ERROR(st)) {
		bf_fmt(err, errlen, st == EFI_NOT_FOUND ? "%s: missing" : "%s: cannot open (status %llx)", name, st);
		return st;
	}
	uint64_t info_buf[64];   /* efi_file_info plus a name of up to 47 characters, 8-byte aligned */
	uint64_t info_size = sizeof info_buf;
	efi_file_info *info = (efi_file_info *)info_buf;
	st = f->get_info(f, &info_guid, &info_size, info);
	if (EFI_IS_ERROR(st) || (info->attribute & EFI_FILE_DIRECTORY)) {
		f->close(f);
		bf_fmt(err, errlen, EFI_IS_ERROR(st) ? "%s: cannot stat" : "%s: is a directory", name);
		return EFI_IS_ERROR(st) ? st : EFI_LOAD_ERROR;
	}
	uint64_t want = info->file_size;
	uint8_t *buf = pages_alloc(want ? want : 1);
	if (!buf) {
		f->close(f);
		bf_fmt(err, errlen, "%s: out of memory for %llu bytes", name, want);
		return EFI_OUT_OF_RESOURCES;
	}
	/* One read for the whole file; the loop only covers a driver that returns less. */
	uint64_t got = 0;
	while (got < want && !EFI_IS_ERROR(st)) {
		uint64_t chunk = want - got;
		st = f->read(f, &chunk, buf + got);
		if (!EFI_IS_ERROR(st) && chunk == 0)
			st = EFI_VOLUME_CORRUPTED;   /* shorter than its directory entry says */
		got += chunk;
	}
	f->close(f);
	if (EFI_IS_ERROR(st)) {
		pages_free(buf, want ? want : 1);
		bf_fmt(err, errlen, "%s: read failed after %llu of %llu bytes (status %llx)", name, got, want, st);
		return st;
	}
	*data = buf;
	*size = want;
	return EFI_SUCCESS;
}
