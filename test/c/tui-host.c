/* tui-host.c: the console's pure parts (kernel/grid.c, kernel/keydec.c) built for the host with
 * ASan and UBSan and driven line by line from test/kernel/tui.test.ts. One command per line, one
 * JSON answer per line:
 *   grid COLS ROWS                a fresh pair of grids, `want` and `shown`, blank: {"ok":1}
 *   text X Y MAX ATTR HEX         grid_text into want: {"n":N}
 *   fill X Y W H ATTR             grid_fill into want: {"ok":1}
 *   putc ATTR HEX                 grid_putc of each byte into want: {"cx":X,"cy":Y}
 *   paint                         grid_paint(want, shown): {"n":N,"cells":[[x,y,ch,attr],...]}
 *   paintbad                      grid_paint against a grid of another size: {"n":N}
 *   rows                          want's rows as text: {"rows":[S,...]}
 *   keys TOKENS...                a fresh decoder; each token is a byte in hex (fed at the
 *                                 current time) or +MS (time passes); after every token the
 *                                 keys ready then are read: {"keys":[K,...]} as names
 *   fuzz SEED N                   N random byte strings (ESC-heavy) through the decoder with
 *                                 random time steps: {"bytes":N,"keys":K}; ASan aborts on misuse */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../kernel/tui.h"

static struct cell want_cells[200 * 100], shown_cells[200 * 100], other_cells[4];
static struct grid want, shown, other;

static void print_key(int k, int first)
{
	printf("%s\"", first ? "" : ",");
	if (k & KEY_ALT)
		printf("Alt+");
	k &= ~KEY_ALT;
	if (k >= KEY_F1 && k <= KEY_F12)
		printf("F%d", k - KEY_F1 + 1);
	else if (k >= KEY_UP && k <= KEY_DEL) {
		static const char *const names[] = { "Up", "Down", "Left", "Right", "Esc", "Home", "End", "PgUp", "PgDn", "Del" };
		printf("%s", names[k - KEY_UP]);
	} else if (k == '\r')
		printf("Enter");
	else if (k == '\b')
		printf("Backspace");
	else if (k == '\t')
		printf("Tab");
	else if (k == '"' || k == '\\')
		printf("\\%c", k);
	else if (k >= 0x20 && k < 0x7f)
		printf("%c", k);
	else
		printf("?%d", k);
	printf("\"");
}

static int hexbytes(const char *hex, char *out, int max)
{
	int n = 0;

	if (strcmp(hex, "-") == 0)
		return 0;
	for (; hex[0] && hex[1] && n < max; hex += 2)
		out[n++] = (char)strtol((char[]){ hex[0], hex[1], 0 }, 0, 16);
	out[n] = 0;
	return n;
}

static void draw(void *ctx, int x, int y, struct cell c)
{
	int *first = ctx;

	printf("%s[%d,%d,%d,%d]", *first ? "" : ",", x, y, c.ch, c.attr);
	*first = 0;
}

int main(void)
{
	char line[8192], buf[4096];

	while (fgets(line, sizeof line, stdin)) {
		char *cmd = strtok(line, " \n");
		int x, y, w, h, a;

		if (!cmd)
			continue;
		if (strcmp(cmd, "grid") == 0) {
			w = atoi(strtok(0, " \n"));
			h = atoi(strtok(0, " \n"));
			grid_init(&want, w, h, want_cells, 0x07);
			grid_init(&shown, w, h, shown_cells, 0x07);
			printf("{\"ok\":1}\n");
		} else if (strcmp(cmd, "text") == 0) {
			x = atoi(strtok(0, " \n"));
			y = atoi(strtok(0, " \n"));
			w = atoi(strtok(0, " \n"));
			a = atoi(strtok(0, " \n"));
			hexbytes(strtok(0, " \n"), buf, sizeof buf - 1);
			printf("{\"n\":%d}\n", grid_text(&want, x, y, w, (uint8_t)a, buf));
		} else if (strcmp(cmd, "fill") == 0) {
			x = atoi(strtok(0, " \n"));
			y = atoi(strtok(0, " \n"));
			w = atoi(strtok(0, " \n"));
			h = atoi(strtok(0, " \n"));
			a = atoi(strtok(0, " \n"));
			grid_fill(&want, x, y, w, h, (uint8_t)a);
			printf("{\"ok\":1}\n");
		} else if (strcmp(cmd, "putc") == 0) {
			a = atoi(strtok(0, " \n"));
			int n = hexbytes(strtok(0, " \n"), buf, sizeof buf - 1);
			for (int i = 0; i < n; i++)
				grid_putc(&want, buf[i], (uint8_t)a);
			printf("{\"cx\":%d,\"cy\":%d}\n", want.cx, want.cy);
		} else if (strcmp(cmd, "paint") == 0) {
			int first = 1, n;

			printf("{\"cells\":[");
			n = grid_paint(&want, &shown, draw, &first);
			printf("],\"n\":%d}\n", n);
		} else if (strcmp(cmd, "paintbad") == 0) {
			int first = 1;

			grid_init(&other, 2, 2, other_cells, 0x07);
			printf("{\"n\":%d}\n", grid_paint(&want, &other, draw, &first));
		} else if (strcmp(cmd, "rows") == 0) {
			printf("{\"rows\":[");
			for (y = 0; y < want.rows; y++) {
				printf("%s\"", y ? "," : "");
				for (x = 0; x < want.cols; x++) {
					int c = want.cells[y * want.cols + x].ch;
					printf(c == '"' || c == '\\' ? "\\%c" : "%c", c);
				}
				printf("\"");
			}
			printf("]}\n");
		} else if (strcmp(cmd, "keys") == 0) {
			struct keydec d;
			uint64_t now = 1000;
			char *tok;
			int first = 1, k;

			keydec_init(&d);
			printf("{\"keys\":[");
			while ((tok = strtok(0, " \n"))) {
				if (tok[0] == '+')
					now += strtoull(tok + 1, 0, 10);
				else
					keydec_feed(&d, (uint8_t)strtol(tok, 0, 16), now);
				while ((k = keydec_key(&d, now)) >= 0) {
					print_key(k, first);
					first = 0;
				}
			}
			printf("]}\n");
		} else if (strcmp(cmd, "fuzz") == 0) {
			unsigned seed = (unsigned)strtoul(strtok(0, " \n"), 0, 10);
			long n = strtol(strtok(0, " \n"), 0, 10), bytes = 0, keys = 0;
			struct keydec d;
			uint64_t now = 0;

			srand(seed);
			keydec_init(&d);
			for (long i = 0; i < n; i++) {
				int len = rand() % 24;

				for (int j = 0; j < len; j++, bytes++) {
					static const uint8_t common[] = { 0x1b, '[', 'O', ';', '~', '1', '2', '3', 'A', 'P', '\r', '\n', 0 };
					uint8_t c = rand() % 2 ? common[rand() % sizeof common] : (uint8_t)rand();
					keydec_feed(&d, c, now);
					now += (uint64_t)(rand() % 3 ? 0 : rand() % 120);
					while (keydec_key(&d, now) >= 0)
						keys++;
				}
				now += KEYDEC_ESC_MS;
				while (keydec_key(&d, now) >= 0)
					keys++;
			}
			printf("{\"bytes\":%ld,\"keys\":%ld}\n", bytes, keys);
		} else {
			printf("{\"error\":\"unknown command %s\"}\n", cmd);
		}
		fflush(stdout);
	}
	return 0;
}
