/* tui.h: the pure parts of the console's text UI, kept free of hardware so that the host tests
 * (test/kernel/tui.test.ts) build them under ASan and UBSan: the text grid (cells of character
 * and colour) with the painter that sends only changed cells to a device, and the decoder that
 * turns a terminal's bytes into keys. Code: grid.c, keydec.c. */
#ifndef KERNEL_TUI_H
#define KERNEL_TUI_H
#include "../common/bftypes.h"

/* Colours are the 16 of the PC text modes (fbcon.c and serial_tui.c map them to pixels and to
 * ANSI SGR codes); a cell's attribute is foreground | background << 4. */
enum {
	C_BLACK, C_BLUE, C_GREEN, C_CYAN, C_RED, C_MAGENTA, C_BROWN, C_GREY,
	C_DARKGREY, C_LBLUE, C_LGREEN, C_LCYAN, C_LRED, C_LMAGENTA, C_YELLOW, C_WHITE,
};
#define ATTR(fg, bg) ((uint8_t)((fg) | (bg) << 4))
#define ATTR_FG(a) ((a) & 15)
#define ATTR_BG(a) ((a) >> 4)

struct cell {
	uint8_t ch;     /* printable ASCII; anything else is drawn as '?' */
	uint8_t attr;
};

/* A grid owns no memory of its own: `cells` holds cols * rows cells, row after row. */
struct grid {
	int cols, rows;
	struct cell *cells;
	int cx, cy;     /* where grid_putc writes next (the log console's cursor) */
};

void grid_init(struct grid *g, int cols, int rows, struct cell *cells, uint8_t attr);
void grid_fill(struct grid *g, int x, int y, int w, int h, uint8_t attr);   /* spaces, clipped */
/* Writes `s` from (x, y), at most `max` cells and never past the right edge; returns the cells written. */
int grid_text(struct grid *g, int x, int y, int max, uint8_t attr, const char *s);
/* A terminal's way of writing: '\n' ends the line, '\r' returns, '\t' goes to the next multiple
 * of 8, the line wraps at the right edge, and leaving the last row moves the cells up one row
 * (the grid's memory, not a device's: the painter then sends what changed). */
void grid_putc(struct grid *g, char c, uint8_t attr);

/* Paints `want` over `shown` (what the device shows now, same size): calls draw for every cell
 * that differs, in row order, and copies it into `shown`. Returns the number of cells painted,
 * -1 when the two grids differ in size (nothing is painted). */
typedef void grid_draw_fn(void *ctx, int x, int y, struct cell c);
int grid_paint(const struct grid *want, struct grid *shown, grid_draw_fn *draw, void *ctx);

/* Keys: a printable character or '\r', '\b', '\t' as themselves; the rest below. KEY_ALT is
 * or-ed into a key typed with Alt held (Alt+F1, Alt+F2 and Alt+F12 switch consoles). */
enum {
	KEY_UP = 0x100, KEY_DOWN, KEY_LEFT, KEY_RIGHT, KEY_ESC, KEY_HOME, KEY_END, KEY_PGUP, KEY_PGDN, KEY_DEL,
	KEY_F1 = 0x110,   /* KEY_F1 + n - 1 is Fn, up to F12 */
	KEY_F12 = KEY_F1 + 11,
	KEY_ALT = 0x1000,
};
#define KEY_F(n) (KEY_F1 + (n) - 1)

/* The decoder of a VT100/xterm byte stream: CSI (ESC [) and SS3 (ESC O) sequences for arrows,
 * Home/End, PgUp/PgDn, Delete and F1-F12 (xterm, VT220 and Linux console forms, with xterm's
 * modifier parameter: ;3 is Alt), ESC before a key as Alt (the meta prefix), CR LF and CR NUL as
 * one Enter, DEL and BS as backspace. An ESC that nothing follows within KEYDEC_ESC_MS is the
 * Esc key. Keys come out in order: nothing typed after a lone Esc is lost. */
#define KEYDEC_ESC_MS 50
#define KEYDEC_QUEUE 24   /* more than a sequence's bytes: a timed-out one comes out whole */
struct keydec {
	uint8_t seq[16];       /* the escape sequence so far, ESC included */
	int len;               /* 0: none; -1: one too long to be a key, dropped up to its final byte */
	uint64_t esc_ms;       /* when its ESC came */
	int after_cr;
	int queue[KEYDEC_QUEUE];
	int qhead, qlen;
};
void keydec_init(struct keydec *d);
void keydec_feed(struct keydec *d, uint8_t byte, uint64_t now_ms);
/* The next key, or -1. A lone ESC older than KEYDEC_ESC_MS at `now_ms` comes out as KEY_ESC. */
int keydec_key(struct keydec *d, uint64_t now_ms);

#endif
