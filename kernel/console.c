/* console.c: kprintf, which writes every message to the serial port and the framebuffer
 * console, and keeps a copy in the kernel log: a ring buffer in memory that a core dump takes
 * with it, so a crash report carries what the kernel said before it. Finding the ring in a raw
 * memory image needs no symbols: it starts with the magic "BFKLOG01". */
#include "defs.h"

#define KLOG_SIZE 65536   /* a power of two, so the ring index is a mask */

struct klog {
	char magic[8];
	uint64_t size;        /* KLOG_SIZE */
	uint64_t written;     /* bytes ever written; the newest byte is buf[(written - 1) % size] */
	char buf[KLOG_SIZE];
};

/* In .bss, not .data: an initialised ring would add 64 KiB to the kernel file. */
struct klog klog;

void console_init(void)
{
	memcpy(klog.magic, "BFKLOG01", 8);
	klog.size = KLOG_SIZE;
}

static void putc_all(char c)
{
	serial_putc(c);
	fbcon_putc(c);
	klog.buf[klog.written++ & (KLOG_SIZE - 1)] = c;
}

void kvprintf(const char *fmt, va_list ap)
{
	char line[512];
	size_t n = bf_vfmt(line, sizeof line, fmt, ap);

	if (n >= sizeof line)
		n = sizeof line - 1;
	for (size_t i = 0; i < n; i++)
		putc_all(line[i]);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}
