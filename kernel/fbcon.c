/* fbcon.c: a text console on the GOP framebuffer the loader left in bootinfo. Characters are
 * font.c's 8x8 glyphs, drawn at 2x when the screen holds at least 80x30 cells that way (so the
 * text stays readable on large modes) and at 1x otherwise. Light grey on black; when the
 * cursor leaves the last row the screen scrolls up one text row. Without a framebuffer every
 * call does nothing and the serial console carries the output alone. */
#include "defs.h"

static volatile uint32_t *fb;     /* NULL: no framebuffer */
static uint32_t width, height, stride;   /* pixels; stride = pixels per scanline */
static uint32_t scale, cols, rows, cx, cy;
static uint32_t fg, bg;

static uint32_t rgb(const struct bf_framebuffer *f, uint8_t r, uint8_t g, uint8_t b)
{
	/* GOP's PixelBlueGreenRedReserved8BitPerColor is byte order B, G, R, X in memory. */
	if (f->format == BF_FB_BGRX)
		return (uint32_t)r << 16 | (uint32_t)g << 8 | b;
	return (uint32_t)b << 16 | (uint32_t)g << 8 | r;
}

static void fill(uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t color)
{
	for (uint32_t j = 0; j < h; j++)
		for (uint32_t i = 0; i < w; i++)
			fb[(uint64_t)(y + j) * stride + x + i] = color;
}

void fbcon_init(const struct bf_framebuffer *f)
{
	if (f->base == 0 || (f->format != BF_FB_BGRX && f->format != BF_FB_RGBX) || f->pitch % 4 ||
	    f->width < 8 || f->height < 8)
		return;
	fb = (volatile uint32_t *)(uintptr_t)f->base;
	width = f->width;
	height = f->height;
	stride = f->pitch / 4;
	scale = width / 16 >= 80 && height / 16 >= 30 ? 2 : 1;
	cols = width / (8 * scale);
	rows = height / (8 * scale);
	fg = rgb(f, 0xc8, 0xc8, 0xc8);
	bg = rgb(f, 0, 0, 0);
	fill(0, 0, width, height, bg);
}

static void draw(uint32_t col, uint32_t row, char c)
{
	const uint8_t *g = font_glyphs[(c >= FONT_FIRST && c <= FONT_LAST ? c : '?') - FONT_FIRST];
	uint32_t x0 = col * 8 * scale, y0 = row * 8 * scale;

	for (uint32_t y = 0; y < 8; y++)
		for (uint32_t x = 0; x < 8; x++)
			fill(x0 + x * scale, y0 + y * scale, scale, scale, g[y] & (0x80 >> x) ? fg : bg);
}

static void scroll(void)
{
	uint64_t line = (uint64_t)stride * 8 * scale;   /* pixels in one text row */

	/* The framebuffer is ordinary memory to the CPU, so moving it in place is cheapest. */
	memmove((void *)fb, (const void *)(fb + line), (rows - 1) * line * 4);
	fill(0, (rows - 1) * 8 * scale, width, 8 * scale, bg);
}

void fbcon_putc(char c)
{
	if (!fb)
		return;
	if (c == '\n' || cx == cols) {
		cx = 0;
		if (++cy == rows) {
			scroll();
			cy = rows - 1;
		}
		if (c == '\n')
			return;
	}
	if (c == '\r') {
		cx = 0;
		return;
	}
	if (c == '\t') {
		do
			draw(cx++, cy, ' ');
		while (cx % 8 && cx < cols);
		return;
	}
	draw(cx++, cy, c);
}
