/* loader.h: what the loader's firmware-facing files share (the plain-C parsers have headers of
 * their own: common/gpt.h, common/bootcfg.h, elf64.h, common/fmt.h). */
#ifndef BF_LOADER_H
#define BF_LOADER_H
#include "efi.h"
#include "bankstate.h"
#include "bootinfo.h"
#include "gpt.h"

#define BF_LOADER_VERSION "0.1.0"

/* main.c: the firmware's tables, and page allocation (LoaderData: BF_MEM_LOADER in the map). */
extern efi_handle g_image;
extern efi_system_table *g_st;
extern efi_boot_services *g_bs;
void *pages_alloc(uint64_t bytes);
void pages_free(void *p, uint64_t bytes);
int guid_eq(const efi_guid *a, const efi_guid *b);
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* console.c: every message goes to the screen (ConOut) and to COM1. */
void con_init(void);
void con_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int con_serial_getc(void);          /* a byte from COM1, or -1 */
void con_exit_boot_services(void);  /* ConOut is gone: COM1 only from now on */

/* disk.c: the whole disk the loader was read from. */
struct disk {
	efi_handle handle;
	efi_block_io *bio;
	uint32_t sector_size;
	uint64_t last_lba;
	efi_device_path *path;          /* the disk's device path (firmware memory) */
	uint64_t path_len;              /* its length without the End node */
	uint32_t transport;             /* enum bf_transport */
	uint32_t pci_location;          /* as in struct bf_boot_info, or ~0 */
};
efi_status disk_open(struct disk *d);
efi_status disk_read(struct disk *d, uint64_t lba, uint64_t count, void *buf);
efi_status disk_write(struct disk *d, uint64_t lba, uint64_t count, const void *buf);
uint64_t dp_node_len(const efi_device_path *n);
const efi_device_path *dp_next(const efi_device_path *n);

/* banks.c: the two banks (their partitions and state) and the core-dump partition. */
struct bank {
	int found;
	struct gpt_part part;
	struct bf_bank_view view;
};
struct layout {
	struct gpt_disk gpt;
	struct bank bank[2];
	int has_coredump;
	struct gpt_part coredump;
};
efi_status banks_find(struct disk *d, struct layout *l);
efi_status bank_write(struct disk *d, struct bank *b, int slot, const struct bf_bank_state *s);

/* fatfile.c: whole files from a bank's FAT volume. */
efi_status fat_read_file(struct disk *d, const struct gpt_part *p, const char *name, uint8_t **data,
			 uint64_t *size, char *err, uint64_t errlen);

/* menu.c: returns 1 when the user asked for the other bank, 0 to boot `bank` (Enter or timeout). */
int menu_run(uint32_t timeout, int bank, int other_bootable);

/* handoff.c: exit boot services and call the kernel. Returns only on failure. */
struct kernel_span {
	uint64_t lo, size;   /* where the kernel runs: page-aligned */
	uint64_t staged;     /* where it waits until ExitBootServices, or 0 when already at lo */
};
/* Is [lo, hi) only conventional or boot-services memory, free for us once boot services exit? */
int span_reclaimable(uint64_t lo, uint64_t hi);
efi_status handoff(struct bf_boot_info *bi, uint64_t entry, const struct kernel_span *k);

/* linux.c: a stock Linux kernel (EFI-stub bzImage) and its initramfs, verified, in loader pages. */
struct linux_payload {
	uint8_t *kernel;
	uint64_t kernel_size;
	uint8_t *initrd;          /* NULL when boot.cfg names none */
	uint64_t initrd_size;
};
int linux_is_kernel(const uint8_t *data, uint64_t size);
/* Start it with the command line and the bank's identity (docs/boot-protocol.md, "Linux payloads").
 * Returns only on failure: the bf_reason, with err. */
uint8_t linux_boot(struct layout *l, int bank, const struct linux_payload *lx, const char *kernelopt, char *err,
		   size_t errlen);

#endif
