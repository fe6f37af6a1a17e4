/* serial_tui.c: the DCUI on the serial line, in one of three modes (kernelopt dcui.serial=):
 *   ansi   the full-screen UI on an 80x24 VT100/ANSI terminal: cursor addressing and SGR colours,
 *          only changed cells sent (grid.c's painter); the kernel log then stays off the line
 *          (it goes on on the screen's Alt+F12 console and in vmkernel.log);
 *   plain  for a dumb terminal or a log file: each new page or dialog as plain text lines, then
 *          the lines that changed; the kernel log goes on between them;
 *   off    the serial line carries the kernel log only.
 * Without the option, the terminal is asked where its cursor is (DSR, ESC [ 6 n): a terminal
 * answers ESC [ row ; col R and gets ansi, silence gets plain. Keys go through keydec.c. */
#include "system.h"

#define DETECT_MS 400

static int mode = STUI_OFF;
static struct cell cells[STUI_COLS * STUI_ROWS], shown_cells[STUI_COLS * STUI_ROWS];
static struct grid want, shown;
static struct keydec keys;
static int cur_x = -1, cur_y = -1, cur_attr = -1;   /* the terminal's cursor and colours; -1 unknown */
static int last_screen = -1;

static void puts_raw(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

/* Does a terminal answer a cursor position request? Its answer is consumed here. */
static int detect(void)
{
	uint64_t start = now_ms();
	int state = 0, c;

	puts_raw("\033[6n");
	while (now_ms() - start < DETECT_MS) {
		while ((c = serial_getc()) >= 0) {
			/* ESC [ digits ; digits R */
			if (c == 0x1b)
				state = 1;
			else if (state == 1 && c == '[')
				state = 2;
			else if (state >= 2 && ((c >= '0' && c <= '9') || c == ';'))
				state = 3;
			else if (state == 3 && c == 'R')
				return 1;
			else
				state = 0;
		}
		sleep_ms(10);
	}
	return 0;
}

int stui_start(void)
{
	const char *opt = cmdline_get("dcui.serial");

	keydec_init(&keys);
	if (opt && strcmp(opt, "off") == 0)
		mode = STUI_OFF;
	else if (opt && strcmp(opt, "plain") == 0)
		mode = STUI_PLAIN;
	else if (opt && strcmp(opt, "ansi") == 0)
		mode = STUI_ANSI;
	else {
		if (opt)
			kprintf("dcui: dcui.serial=%s is not ansi, plain or off; asking the terminal\n", opt);
		mode = detect() ? STUI_ANSI : STUI_PLAIN;
	}
	grid_init(&want, STUI_COLS, STUI_ROWS, cells, ATTR(C_GREY, C_BLACK));
	grid_init(&shown, STUI_COLS, STUI_ROWS, shown_cells, ATTR(C_GREY, C_BLACK));
	if (mode == STUI_ANSI) {
		kprintf("dcui: full-screen DCUI on the serial line (ANSI); the kernel log continues on the screen (Alt+F12) and in vmkernel.log\n");
		console_serial_log(0);
		/* Reset colours, clear, hide the cursor (the DCUI draws its own); nothing is known
		 * about the cells, so every one is painted once (0 never equals a drawn cell). */
		puts_raw("\033[0m\033[2J\033[?25l");
		for (int i = 0; i < STUI_COLS * STUI_ROWS; i++)
			shown_cells[i].ch = 0;
	} else if (mode == STUI_PLAIN) {
		kprintf("dcui: line-mode DCUI on the serial line (dcui.serial=ansi for the full screen)\n");
	}
	return mode;
}

int stui_mode(void)
{
	return mode;
}

struct grid *stui_grid(void)
{
	return mode == STUI_OFF ? 0 : &want;
}

/* VGA colour order (tui.h) to ANSI's (SGR 30-37: black red green yellow blue magenta cyan white). */
static const uint8_t ansi[8] = { 0, 4, 2, 6, 1, 5, 3, 7 };

static void ansi_cell(void *ctx, int x, int y, struct cell c)
{
	char buf[32];
	int fg = ATTR_FG(c.attr), bg = ATTR_BG(c.attr);

	(void)ctx;
	if (x != cur_x || y != cur_y) {
		ksnprintf(buf, sizeof buf, "\033[%d;%dH", y + 1, x + 1);
		puts_raw(buf);
	}
	if (c.attr != cur_attr) {
		ksnprintf(buf, sizeof buf, "\033[0;%d;%dm", (fg & 8 ? 90 : 30) + ansi[fg & 7], (bg & 8 ? 100 : 40) + ansi[bg & 7]);
		puts_raw(buf);
		cur_attr = c.attr;
	}
	serial_putc(c.ch >= 0x20 && c.ch < 0x7f ? (char)c.ch : '?');
	/* After the last column a terminal waits to wrap: address the next cell explicitly. */
	cur_x = x + 1 < STUI_COLS ? x + 1 : -1;
	cur_y = y;
}

/* One row as text without its trailing spaces; its length. */
static int row_text(const struct grid *g, int y, char *out)
{
	int n = 0;

	for (int x = 0; x < g->cols; x++) {
		out[x] = (char)g->cells[y * g->cols + x].ch;
		if (out[x] != ' ')
			n = x + 1;
	}
	out[n] = 0;
	return n;
}

static void plain_present(int screen)
{
	char line[STUI_COLS + 1];
	int whole = screen != last_screen, last = 0;

	for (int y = 0; y < STUI_ROWS; y++)
		if (row_text(&want, y, line))
			last = y + 1;
	if (whole)
		puts_raw("\n");
	for (int y = 0; y < last; y++) {
		int changed = 0;

		for (int x = 0; x < STUI_COLS; x++)
			changed |= want.cells[y * STUI_COLS + x].ch != shown.cells[y * STUI_COLS + x].ch;
		if (!whole && !changed)
			continue;
		row_text(&want, y, line);
		puts_raw(line);
		puts_raw("\n");
	}
	for (int i = 0; i < STUI_COLS * STUI_ROWS; i++)
		shown.cells[i] = want.cells[i];
}

void stui_present(int screen)
{
	if (mode == STUI_ANSI)
		grid_paint(&want, &shown, ansi_cell, 0);
	else if (mode == STUI_PLAIN)
		plain_present(screen);
	last_screen = screen;
}

int stui_key(void)
{
	int c, key;

	if (mode == STUI_OFF)
		return -1;
	/* A byte at a time, until a key comes out: what waits in the UART stays there rather than
	 * overflowing the decoder's queue. */
	while ((key = keydec_key(&keys, now_ms())) < 0 && (c = serial_getc()) >= 0)
		keydec_feed(&keys, (uint8_t)c, now_ms());
	return key;
}
