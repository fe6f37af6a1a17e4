/* bootinfo.h: what the loader hands the kernel (docs/boot-protocol.md is the spec).
 *
 * The loader calls the kernel's ELF entry point with the SysV ABI, one argument (a pointer to
 * struct bf_boot_info), interrupts disabled, after ExitBootServices, on the loader's own
 * identity-mapped page tables and GDT (the firmware's live in memory the kernel may reuse) and
 * on a stack of at least 64 KiB that the loader allocated as BF_MEM_LOADER. Everything the structure points to is in
 * memory typed BF_MEM_LOADER, which the kernel may reclaim once it has copied what it needs. */
#ifndef BF_BOOTINFO_H
#define BF_BOOTINFO_H
#include "bftypes.h"

#define BF_BOOTINFO_MAGIC   0x4f464e49544f4f42ull   /* "BOOTINFO" little-endian */
#define BF_BOOTINFO_VERSION 1
#define BF_KERNEL_BASE      0x1000000ull           /* where the kernel is linked (16 MiB) */

enum bf_mem_type {
	BF_MEM_USABLE = 1,      /* free for the kernel */
	BF_MEM_LOADER = 2,      /* kernel image, modules, boot info, stack: usable once consumed */
	BF_MEM_RESERVED = 3,    /* firmware, MMIO, ACPI NVS, unusable */
	BF_MEM_ACPI = 4,        /* ACPI tables, reclaimable after reading them */
};

struct bf_mem_region {
	uint64_t base;
	uint64_t length;
	uint32_t type;          /* enum bf_mem_type */
	uint32_t reserved;
};

enum bf_fb_format { BF_FB_NONE = 0, BF_FB_BGRX = 1, BF_FB_RGBX = 2 };

struct bf_framebuffer {
	uint64_t base;          /* physical address, 0 when there is no framebuffer */
	uint32_t width, height; /* pixels */
	uint32_t pitch;         /* bytes per scanline */
	uint32_t format;        /* enum bf_fb_format; 4 bytes per pixel */
};

enum bf_transport {
	BF_DISK_UNKNOWN = 0, BF_DISK_VIRTIO = 1, BF_DISK_USB = 2, BF_DISK_SATA = 3, BF_DISK_NVME = 4, BF_DISK_SCSI = 5,
};

struct bf_partition_ref {
	uint64_t first_lba;     /* in disk sectors; 0/0 when absent */
	uint64_t last_lba;      /* inclusive */
};

struct bf_module {
	uint64_t base;          /* physical address of the bytes */
	uint64_t size;
	char name[48];          /* file name in the bank, NUL-terminated */
};

#define BF_MAX_MODULES 16

struct bf_boot_info {
	uint64_t magic;                 /* BF_BOOTINFO_MAGIC */
	uint32_t version;               /* BF_BOOTINFO_VERSION */
	uint32_t size;                  /* sizeof(struct bf_boot_info) */

	uint64_t memory_map;            /* physical address of struct bf_mem_region[] (sorted by base) */
	uint32_t memory_map_count;
	uint32_t reserved0;

	struct bf_framebuffer fb;

	uint64_t cmdline;               /* physical address of boot.cfg's kernelopt, NUL-terminated */
	uint64_t acpi_rsdp;             /* physical address of the ACPI RSDP, 0 when not found */

	/* The bank that is booting and the disk it is on. */
	uint32_t bank;                  /* enum bf_bank */
	uint32_t bank_bootstate;        /* the bank's state as the loader left it (after spending a try) */
	char bank_version[32];          /* boot.cfg build=, NUL-terminated */
	uint32_t disk_sector_size;      /* logical block size of the boot disk */
	uint32_t disk_transport;        /* enum bf_transport, from the firmware's device path */
	uint64_t disk_sectors;
	uint8_t disk_guid[16];          /* GPT disk GUID, on-disk byte order */
	uint32_t pci_location;          /* segment<<16 | bus<<8 | device<<3 | function of the disk's controller, or ~0 */
	uint32_t reserved1;
	struct bf_partition_ref banks[2];      /* bank A and bank B partitions (state area = last 8 KiB) */
	struct bf_partition_ref coredump;      /* the vmkDiagnostic partition, if any */

	/* Timings: TSC values and the TSC rate the loader measured against the firmware's Stall(). */
	uint64_t tsc_hz;
	uint64_t tsc_loader_entry;
	uint64_t tsc_kernel_loaded;     /* just before ExitBootServices */

	uint32_t module_count;
	uint32_t reserved2;
	struct bf_module modules[BF_MAX_MODULES];
};

#endif
