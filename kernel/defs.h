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

/* idle.c */
void idle_init(void);   /* after idt_init and time_init */
void idle(void);        /* halts until the next tick, or polls on when there is none */
void idle_irq(void);    /* the C half of irq_wake (trap.S) */

/* idt.c */
void idt_init(void);
NORETURN void trap(struct trapframe *tf);

/* vm.c */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
extern uint64_t vm_top;
void vm_init(const struct bf_boot_info *bi);
/* Identity-maps a device's registers, uncached, wherever they lie below 128 TiB; 0, or -1 when
 * they are not canonical or the static table pages are used up. */
int vm_map_mmio(uint64_t phys, uint64_t len);

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
void pci_write32(const struct pci_dev *d, uint8_t off, uint32_t v);
/* Memory BAR `bar` (0-5): its bus address and size in bytes; -1 when it is not a memory BAR. */
int pci_bar_mem(const struct pci_dev *d, int bar, uint64_t *addr, uint64_t *size);

/* blk.c: the one block-device interface. Every disk driver registers its disks here; bank
 * state, configuration and core dumps reach a disk through blk_* and nothing else. Drivers are
 * polled and allocate only while probing, so the core-dump writer can use them from a panic. */
struct blkdev;
struct blk_ops {
	/* lba/count are checked against the disk by blk_*, and count is at most max_bytes'
	 * worth of blocks (blk_* splits larger requests); buffers are identity-mapped, any
	 * alignment the driver needs beyond 512 bytes is its own business. 0 or -1. */
	int (*read)(struct blkdev *d, uint64_t lba, uint32_t count, void *buf);
	int (*write)(struct blkdev *d, uint64_t lba, uint32_t count, const void *buf);
	int (*flush)(struct blkdev *d);
	/* Called on the panic path before the first request: finish or abandon whatever a panic
	 * inside the driver left in flight, so that polled requests work again. May be NULL. */
	int (*quiesce)(struct blkdev *d);
};
struct blkdev {
	const struct blk_ops *ops;
	void *drv;                 /* the driver's own state */
	uint32_t transport;        /* enum bf_transport (bootinfo.h) */
	uint32_t pci_location;     /* segment<<16 | bus<<8 | device<<3 | function of the controller */
	uint32_t block_size;       /* logical block size, 512 or 4096: the unit of every LBA */
	uint64_t blocks;
	uint32_t max_bytes;        /* the most one read or write moves: what one command takes */
	int read_only;
	char name[40];             /* for messages: "virtio-blk 00:03.0", "nvme 00:04.0 ns 1" */
};
#define MAX_BLKDEVS 16
extern struct blkdev *blkdevs[];
extern int nblkdevs;
void blk_register(struct blkdev *d);
int blk_read(struct blkdev *d, uint64_t lba, uint32_t count, void *buf);
int blk_write(struct blkdev *d, uint64_t lba, uint32_t count, const void *buf);
int blk_flush(struct blkdev *d);
int blk_quiesce(struct blkdev *d);
const char *blk_transport_name(uint32_t transport);

/* virtio_blk.c */
void virtio_blk_init(void);

/* xhci.c: xHCI USB host controllers, polled. It enumerates the devices on the root ports and
 * hands mass-storage interfaces to usb_storage.c through the calls below. */
struct usbdev;
struct usb_msc_iface;
void xhci_init(const struct bf_boot_info *bi);
enum { USB_OK = 0, USB_ERROR = -1, USB_STALL = -2, USB_TIMEOUT = -3 };
/* A control transfer on EP0; *done: bytes moved in the data stage. USB_OK or USB_*. */
int usb_control(struct usbdev *u, uint8_t type, uint8_t req, uint16_t value, uint16_t index, void *buf,
		uint16_t len, uint32_t *done);
/* A bulk transfer on the interface's IN (in = 1) or OUT endpoint. USB_OK or USB_*. */
int usb_bulk(struct usbdev *u, int in, void *buf, uint32_t len, uint32_t *done, uint32_t timeout_ms);
/* After a stall or an abandoned transfer: the controller's endpoint reset and its ring rewound
 * past whatever was queued, then the device's halt cleared (CLEAR_FEATURE ENDPOINT_HALT). */
int usb_clear_halt(struct usbdev *u, int in);
/* The panic path: collect every event the controller has posted and stop and rewind both bulk
 * endpoints, so that new transfers start from a known state. */
int usb_quiesce(struct usbdev *u);

/* usb_storage.c: USB mass storage, Bulk-Only Transport, SCSI; registers each LUN with blk.c. */
void usb_storage_probe(struct usbdev *u, const struct usb_msc_iface *ifc, uint32_t pci_location,
		       const char *name);
void usb_storage_test(void);   /* kernelopt test.usb (main.c's test switches) */

/* ahci.c */
void ahci_init(void);

/* nvme.c */
void nvme_init(void);

/* bootdisk.c: the disk the loader booted from (bootinfo's disk GUID, transport, controller)
 * and its GPT. */
void bootdisk_init(const struct bf_boot_info *bi);
struct blkdev *bootdisk(void);                /* NULL: no boot disk to write (bootdisk_why says why) */
const struct gpt_disk *bootdisk_gpt(void);    /* NULL likewise */
const char *bootdisk_why(void);               /* "no driver for the boot disk", or why not chosen */

/* coredump.c */
void coredump_init(const struct bf_boot_info *bi);
void coredump_panic(uint64_t rbp, const char *fmt, va_list ap);
void coredump_trap(const struct trapframe *tf, const char *name);

/* watchdog.c: the loader's hardware watchdog, fed until mark-good (docs/watchdog.md). */
void watchdog_init(void);
void watchdog_feed(void);
void watchdog_disarm(const char *why);

/* bank.c */
void bank_mark_good(const struct bf_boot_info *bi);

#endif
