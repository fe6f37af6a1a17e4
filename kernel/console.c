/* console.c: kprintf, and the screen's virtual consoles.
 *
 * kprintf writes every message to the serial port (until the DCUI takes the serial line for its
 * full-screen UI, dcui.c), to the kernel log console, and to the kernel log: a ring buffer in
 * memory that vmsyslogd copies into vmkernel.log (agents.c) and a core dump takes with it
 * (coredump.c), both through klog_piece, so a crash report carries what the kernel said before
 * it. Finding the ring in a raw memory image needs no symbols: it starts with the magic
 * "BFKLOG01".
 *
 * The screen has three virtual consoles, as ESXi's: Alt+F1 a console with no shell behind it
 * (it says so), Alt+F2 the DCUI, Alt+F12 the kernel log. Each is a text grid (grid.c) that only
 * its owner writes; the screen shows one of them, and showing means painting the cells in which
 * the screen differs from that grid (a switch repaints what differs, a new log line what moved). */
#include "defs.h"

/* In .bss, not .data: an initialised ring would add 64 KiB to the kernel file. */
static struct {
	char magic[8];
	uint64_t size;        /* KLOG_SIZE */
	uint64_t written;     /* bytes ever written; the newest byte is buf[(written - 1) % size] */
	char buf[KLOG_SIZE];
} klog;

#define VC_MAX_CELLS (160 * 100)   /* 1280x800 at 2x is 80x50; larger screens use their top left */
#define LOG_ATTR ATTR(C_GREY, C_BLACK)

static struct cell cells[VC_COUNT][VC_MAX_CELLS], shown_cells[VC_MAX_CELLS];
static struct grid vcs[VC_COUNT], shown;
static int active = VC_LOG;
static int serial_log = 1;

static void shell_page(struct grid *g)
{
	static const char *const text[] = {
		"bankforge has no shell on this console.",
		"",
		"Alt+F2   the Direct Console User Interface (DCUI)",
		"Alt+F12  the kernel log (vmkernel)",
	};

	for (int i = 0; i < (int)(sizeof text / sizeof text[0]); i++)
		grid_text(g, 2, 1 + i, g->cols - 2, LOG_ATTR, text[i]);
}

void console_init(void)
{
	memcpy(klog.magic, "BFKLOG01", 8);
	klog.size = KLOG_SIZE;
}

/* Until this runs the log grid has no cells and kprintf reaches the serial line alone. */
void console_screen_init(const struct bf_framebuffer *fb)
{
	int c, r;

	fbcon_init(fb);
	c = fbcon_cols() ? fbcon_cols() : 80;
	r = fbcon_rows() ? fbcon_rows() : 25;
	if (c > 160)
		c = 160;
	if (c * r > VC_MAX_CELLS)
		r = VC_MAX_CELLS / c;
	for (int i = 0; i < VC_COUNT; i++)
		grid_init(&vcs[i], c, r, cells[i], LOG_ATTR);
	/* fbcon_init painted the screen black: what it shows is a blank grid. */
	grid_init(&shown, c, r, shown_cells, LOG_ATTR);
	shell_page(&vcs[VC_SHELL]);
}

struct grid *vc_grid(int vc)
{
	return &vcs[vc];
}

int vc_active(void)
{
	return active;
}

void vc_present(int vc)
{
	if (vc == active)
		grid_paint(&vcs[vc], &shown, fbcon_cell, 0);
}

void vc_switch(int vc)
{
	if (vc < 0 || vc >= VC_COUNT)
		return;
	active = vc;
	vc_present(vc);
}

void console_serial_log(int on)
{
	serial_log = on;
}

void console_emergency(void)
{
	serial_log = 1;
	vc_switch(VC_LOG);
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
	if (serial_log)
		serial_putc(c);
	grid_putc(&vcs[VC_LOG], c, LOG_ATTR);
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
	vc_present(VC_LOG);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}
