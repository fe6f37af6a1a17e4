/* gpt.h: the GUID Partition Table reader (UEFI 2.10, 5.3), plain C, the one both the loader and
 * the kernel use. The caller supplies a sector reader, so the same code runs on the firmware's
 * Block IO, on the kernel's disk drivers and on a host image file. */
#ifndef BF_GPT_H
#define BF_GPT_H
#include "bftypes.h"

#define GPT_MAX_PARTS 128
/* Largest entry array accepted: the spec's minimum is 16 KiB; anything far beyond is damage. */
#define GPT_MAX_ENTRY_BYTES (1024 * 1024)

struct gpt_part {
	uint32_t index;          /* entry index, 0-based (the device path's partition number is index + 1) */
	uint8_t type_guid[16];   /* on-disk byte order */
	uint8_t guid[16];
	uint64_t first_lba, last_lba;   /* inclusive */
	uint16_t name[36];       /* UTF-16LE code units, NUL-padded */
};

struct gpt_disk {
	uint8_t disk_guid[16];
	uint64_t first_usable, last_usable;
	int used_backup;         /* 1 when the primary copy was damaged and the backup was used */
	char primary_error[64];  /* why the primary copy was refused, when used_backup */
	uint32_t nparts;
	struct gpt_part parts[GPT_MAX_PARTS];
};

/* Read `count` sectors at `lba` into buf; 0 on success. */
typedef int (*gpt_read_fn)(void *ctx, uint64_t lba, uint32_t count, void *buf);

/* Read the primary GPT (LBA 1) and, when it is damaged, the backup (its alternate LBA, or the
 * last sector). `scratch` must hold GPT_MAX_ENTRY_BYTES + sector_size bytes. Returns 0, or -1
 * with a one-line reason in err. */
int gpt_read(gpt_read_fn read, void *ctx, uint32_t sector_size, uint64_t last_lba, uint8_t *scratch,
	     struct gpt_disk *out, char *err, size_t errlen);

/* 9D275380-40AD-11DB-BF97-000C2911D1B8 (ESXi's vmkDiagnostic: the core-dump partition), in
 * on-disk byte order. */
extern const uint8_t gpt_type_vmkdiagnostic[16];

/* The first partition of this type, or NULL. */
const struct gpt_part *gpt_find_type(const struct gpt_disk *g, const uint8_t type_guid[16]);
/* The partition whose GPT name is exactly the ASCII string `name`, or NULL. */
const struct gpt_part *gpt_find_name(const struct gpt_disk *g, const char *name);
/* The partition spanning exactly first..last, or NULL. */
const struct gpt_part *gpt_find_range(const struct gpt_disk *g, uint64_t first_lba, uint64_t last_lba);

#endif
