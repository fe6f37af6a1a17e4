/* fbcon.c: the screen, as cells: the GOP framebuffer the loader left in bootinfo divided into
 * text cells of font.c's 8x8 glyphs, drawn at 2x when the screen holds at least 80x30 cells that
 * way (so the text stays readable on large modes) and at 1x otherwise. It draws one cell when
 * asked (fbcon_cell, the painter's device for grid.c) and nothing else: what the cells hold is
 * the consoles' business (console.c). Colours are the 16 of tui.h. Without a framebuffer every
 * call does nothing and fbcon_cols/rows are 0. */
#include "defs.h"

static volatile uint32_t *fb;     /* NULL: no framebuffer */
static uint32_t stride;           /* pixels per scanline */
static uint32_t scale, cols, rows;
static uint32_t palette[16];

/* The PC's text-mode colours, with the grey the console always had (0xc8) as the usual text
 * colour and a deeper yellow for the DCUI's lower half, as ESXi's. */
static const uint8_t rgb16[16][3] = {
	{ 0x00, 0x00, 0x00 }, { 0x00, 0x00, 0xa8 }, { 0x00, 0xa8, 0x00 }, { 0x00, 0xa8, 0xa8 },
	{ 0xa8, 0x00, 0x00 }, { 0xa8, 0x00, 0xa8 }, { 0xc0, 0x98, 0x00 }, { 0xc8, 0xc8, 0xc8 },
	{ 0x58, 0x58, 0x58 }, { 0x54, 0x54, 0xfc }, { 0x54, 0xfc, 0x54 }, { 0x54, 0xfc, 0xfc },
	{ 0xfc, 0x54, 0x54 }, { 0xfc, 0x54, 0xfc }, { 0xfc, 0xfc, 0x54 }, { 0xff, 0xff, 0xff },
};

static uint32_t pixel(const struct bf_framebuffer *f, const uint8_t c[3])
{
	/* GOP's PixelBlueGreenRedReserved8BitPerColor is byte order B, G, R, X in memory. */
	if (f->format == BF_FB_BGRX)
		return (uint32_t)c[0] << 16 | (uint32_t)c[1] << 8 | c[2];
	return (uint32_t)c[2] << 16 | (uint32_t)c[1] << 8 | c[0];
}

void fbcon_init(const struct bf_framebuffer *f)
{
	if (f->base == 0 || (f->format != BF_FB_BGRX && f->format != BF_FB_RGBX) || f->pitch % 4 ||
	    f->width < 8 || f->height < 8)
		return;
	fb = (volatile uint32_t *)(uintptr_t)f->base;
	stride = f->pitch / 4;
	scale = f->width / 16 >= 80 && f->height / 16 >= 30 ? 2 : 1;
	cols = f->width / (8 * scale);
	rows = f->height / (8 * scale);
	for (int i = 0; i < 16; i++)
		palette[i] = pixel(f, rgb16[i]);
	/* The firmware's last picture goes; the part right of and below the last whole cell
	 * stays black, as no cell covers it. */
	for (uint32_t y = 0; y < f->height; y++)
		for (uint32_t x = 0; x < f->width; x++)
			fb[(uint64_t)y * stride + x] = palette[C_BLACK];
}

int fbcon_cols(void)
{
	return fb ? (int)cols : 0;
}

int fbcon_rows(void)
{
	return fb ? (int)rows : 0;
}

void fbcon_cell(void *ctx, int col, int row, struct cell c)
{
	const uint8_t *g = font_glyphs[(c.ch >= FONT_FIRST && c.ch <= FONT_LAST ? c.ch : '?') - FONT_FIRST];
	uint32_t fg = palette[ATTR_FG(c.attr)], bg = palette[ATTR_BG(c.attr)];
	uint64_t x0 = (uint64_t)col * 8 * scale, y0 = (uint64_t)row * 8 * scale;

	(void)ctx;
	if (!fb || col < 0 || row < 0 || (uint32_t)col >= cols || (uint32_t)row >= rows)
		return;
	for (uint32_t y = 0; y < 8 * scale; y++) {
		uint8_t bits = g[y / scale];
		volatile uint32_t *p = fb + (y0 + y) * stride + x0;

		for (uint32_t x = 0; x < 8 * scale; x++)
			p[x] = bits & (0x80 >> (x / scale)) ? fg : bg;
	}
}
