/* grid.c: the text grid every console is drawn from (tui.h), and the painter that sends a
 * device only the cells that changed since it last painted: a redraw of the DCUI touches the
 * few cells that are new, never the whole screen. Pure C, also built for the host tests. */
#include "tui.h"

void grid_init(struct grid *g, int cols, int rows, struct cell *cells, uint8_t attr)
{
	g->cols = cols;
	g->rows = rows;
	g->cells = cells;
	g->cx = g->cy = 0;
	grid_fill(g, 0, 0, cols, rows, attr);
}

void grid_fill(struct grid *g, int x, int y, int w, int h, uint8_t attr)
{
	int x1 = x + w > g->cols ? g->cols : x + w, y1 = y + h > g->rows ? g->rows : y + h;

	for (int j = y < 0 ? 0 : y; j < y1; j++)
		for (int i = x < 0 ? 0 : x; i < x1; i++)
			g->cells[j * g->cols + i] = (struct cell){ ' ', attr };
}

int grid_text(struct grid *g, int x, int y, int max, uint8_t attr, const char *s)
{
	int n = 0, written = 0;

	if (y < 0 || y >= g->rows)
		return 0;
	for (; *s && n < max && x + n < g->cols; s++, n++)
		if (x + n >= 0) {
			g->cells[y * g->cols + x + n] = (struct cell){ (uint8_t)*s, attr };
			written++;
		}
	return written;
}

static void newline(struct grid *g, uint8_t attr)
{
	g->cx = 0;
	if (++g->cy < g->rows)
		return;
	g->cy = g->rows - 1;
	for (int i = 0; i < (g->rows - 1) * g->cols; i++)
		g->cells[i] = g->cells[i + g->cols];
	grid_fill(g, 0, g->rows - 1, g->cols, 1, attr);
}

void grid_putc(struct grid *g, char c, uint8_t attr)
{
	if (g->cols <= 0 || g->rows <= 0)
		return;
	if (c == '\n') {
		newline(g, attr);
		return;
	}
	if (c == '\r') {
		g->cx = 0;
		return;
	}
	if (g->cx >= g->cols)
		newline(g, attr);
	if (c == '\t') {
		do
			g->cells[g->cy * g->cols + g->cx++] = (struct cell){ ' ', attr };
		while (g->cx % 8 && g->cx < g->cols);
		return;
	}
	g->cells[g->cy * g->cols + g->cx++] = (struct cell){ (uint8_t)c, attr };
}

int grid_paint(const struct grid *want, struct grid *shown, grid_draw_fn *draw, void *ctx)
{
	int n = 0;

	if (want->cols != shown->cols || want->rows != shown->rows)
		return -1;
	for (int i = 0; i < want->cols * want->rows; i++) {
		struct cell w = want->cells[i], *s = &shown->cells[i];

		if (w.ch == s->ch && w.attr == s->attr)
			continue;
		draw(ctx, i % want->cols, i / want->cols, w);
		*s = w;
		n++;
	}
	return n;
}
