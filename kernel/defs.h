/* defs.h: the kernel's internal interfaces, one section per subsystem (one .c file each). */
#ifndef KERNEL_DEFS_H
#define KERNEL_DEFS_H
#include <stdarg.h>
#include "../common/bftypes.h"
#include "../common/bfstring.h"
#include "../common/bootinfo.h"
#include "../common/fmt.h"
#include "../common/gpt.h"
#include "tui.h"

#define PAGE_SIZE ((uint64_t)4096)
#define NORETURN __attribute__((noreturn))
#define PRINTF(f, a) __attribute__((format(printf, f, a)))

struct trapframe;

/* libc.c */
void *memmove(void *dst, const void *src, size_t n);
int strcmp(const char *a, const char *b);
int ksnprintf(char *buf, size_t size, const char *fmt, ...) PRINTF(3, 4);

/* serial.c */
void serial_init(void);
void serial_putc(char c);
int serial_getc(void);

/* font.c */
#define FONT_FIRST 32
#define FONT_LAST 126
extern const uint8_t font_glyphs[FONT_LAST - FONT_FIRST + 1][8];

/* fbcon.c: the framebuffer as cols x rows text cells (0 x 0 without one). */
void fbcon_init(const struct bf_framebuffer *fb);
int fbcon_cols(void);
int fbcon_rows(void);
grid_draw_fn fbcon_cell;

/* console.c: kprintf and the screen's virtual consoles (Alt+F1, Alt+F2, Alt+F12). */
enum { VC_SHELL, VC_DCUI, VC_LOG, VC_COUNT };
void console_init(void);
void console_screen_init(const struct bf_framebuffer *fb);
struct grid *vc_grid(int vc);     /* the console's cells: only its owner writes them */
void vc_present(int vc);          /* paints the changed cells when `vc` is on the screen */
void vc_switch(int vc);
int vc_active(void);
void console_serial_log(int on);  /* whether kprintf also writes to the serial line */
void console_emergency(void);     /* a panic: the log on the screen and on the serial line */
void kprintf(const char *fmt, ...) PRINTF(1, 2);
void kvprintf(const char *fmt, va_list ap);
/* The kernel log: a ring of the last KLOG_SIZE bytes kprintf wrote (a power of two). */
#define KLOG_SIZE 65536
uint64_t klog_written(void);   /* bytes ever written */
/* Where the log's bytes from..to-1 (counted as klog_written counts; the ring must still hold
 * them) start in the ring, and in *n how many of them are contiguous there: the ring wraps,
 * so a span comes in one or two pieces. */
const char *klog_piece(uint64_t from, uint64_t to, uint64_t *n);

/* cmdline.c */
void cmdline_init(const char *s);
const char *cmdline_get(const char *key);
uint64_t cmdline_uint(const char *key, uint64_t def);

/* time.c */
extern uint64_t tsc_hz;
void time_init(uint64_t hz);
uint64_t tsc_ms(uint64_t from, uint64_t to);
uint64_t now_ms(void);   /* since the TSC started, for timeouts */
void delay_ms(uint64_t ms);
uint64_t rtc_seconds(void);   /* seconds since 1970 from the CMOS clock, 0 when it makes no sense */

/* panic.c */
void panic_init(void);
void panic_begin(void);
NORETURN void panic_end(void);
NORETURN void panic(const char *fmt, ...) PRINTF(1, 2);
#define BACKTRACE_MAX 33   /* the faulting rip and 32 return addresses */
void backtrace(uint64_t rip, uint64_t rbp);
int backtrace_pcs(uint64_t rip, uint64_t rbp, uint64_t *pcs, int max);

/* power.c */
NORETURN void machine_reset(void);   /* port 0xCF9, else the i8042, else a triple fault */
int machine_poweroff(const struct bf_boot_info *bi);   /* ACPI S5; returns -1 (and says why) when it cannot */

/* idt.c */
void idt_init(void);
NORETURN void trap(struct trapframe *tf);

/* vm.c */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
extern uint64_t vm_top;
void vm_init(const struct bf_boot_info *bi);

/* mem.c */
void mem_init(const struct bf_boot_info *bi, uint64_t limit);
void *page_alloc(size_t npages);
void page_free(void *p, size_t npages);

/* pci.c */
struct pci_dev {
	uint8_t bus, slot, fn;
	uint16_t vendor, device;
	uint8_t class, subclass;
	uint16_t subsys;
};
extern struct pci_dev pci_devs[];
extern int pci_ndevs;
void pci_init(void);
uint16_t pci_read16(const struct pci_dev *d, uint8_t off);
uint32_t pci_read32(const struct pci_dev *d, uint8_t off);
void pci_write16(const struct pci_dev *d, uint8_t off, uint16_t v);

/* virtio_blk.c */
struct vblk {
	const struct pci_dev *pci;
	uint16_t iobase;
	uint32_t block_size;      /* logical block size: the unit of every LBA below */
	uint64_t blocks;
	int read_only, can_flush;
	uint16_t qsize, last_used;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	struct vblk_req *req;     /* header and status byte of the one request in flight */
};
extern struct vblk vblks[];
extern int nvblks;
void virtio_blk_init(void);
int vblk_read(struct vblk *d, uint64_t lba, uint32_t count, void *buf);
int vblk_write(struct vblk *d, uint64_t lba, uint32_t count, const void *buf);
int vblk_flush(struct vblk *d);

/* bootdisk.c: the disk the loader booted from (bootinfo's disk GUID) and its GPT. */
void bootdisk_init(const struct bf_boot_info *bi);
struct vblk *bootdisk(void);                  /* NULL: no driver for the boot disk */
const struct gpt_disk *bootdisk_gpt(void);    /* NULL likewise */

/* coredump.c */
void coredump_init(const struct bf_boot_info *bi);
void coredump_panic(uint64_t rbp, const char *fmt, va_list ap);
void coredump_trap(const struct trapframe *tf, const char *name);

/* bank.c */
void bank_mark_good(const struct bf_boot_info *bi);

#endif
