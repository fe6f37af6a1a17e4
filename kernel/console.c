/* console.c: kprintf, which writes every message to the serial port and the framebuffer
 * console, and keeps a copy in the kernel log: a ring buffer in memory that vmsyslogd copies
 * into vmkernel.log (agents.c) and a core dump takes with it (coredump.c), both through
 * klog_piece, so a crash report carries what the kernel said before it. Finding the ring in a
 * raw memory image needs no symbols: it starts with the magic "BFKLOG01". */
#include "defs.h"

/* In .bss, not .data: an initialised ring would add 64 KiB to the kernel file. */
static struct {
	char magic[8];
	uint64_t size;        /* KLOG_SIZE */
	uint64_t written;     /* bytes ever written; the newest byte is buf[(written - 1) % size] */
	char buf[KLOG_SIZE];
} klog;

void console_init(void)
{
	memcpy(klog.magic, "BFKLOG01", 8);
	klog.size = KLOG_SIZE;
}

uint64_t klog_written(void)
{
	return klog.written;
}

const char *klog_piece(uint64_t from, uint64_t to, uint64_t *n)
{
	uint64_t at = from & (KLOG_SIZE - 1);

	if (from > to || to > klog.written || klog.written - from > KLOG_SIZE)
		panic("console: log bytes %lu-%lu asked for, the ring holds %lu-%lu", from, to,
		      klog.written > KLOG_SIZE ? klog.written - KLOG_SIZE : 0, klog.written);
	*n = to - from < KLOG_SIZE - at ? to - from : KLOG_SIZE - at;
	return klog.buf + at;
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
