/* keydec.c: keys from a terminal's bytes (tui.h). A terminal sends a function key as an escape
 * sequence that starts with the same byte as the Esc key, so an ESC is held until the bytes
 * after it show what it was, or until KEYDEC_ESC_MS pass with nothing (a person cannot type the
 * next key that fast; a terminal sends a whole sequence at once). Sequences from ECMA-48 (CSI:
 * ESC [ parameters final) and the VT100/VT220/xterm key tables; unknown ones are dropped whole.
 * Pure C, also built for the host tests. */
#include "tui.h"

void keydec_init(struct keydec *d)
{
	*d = (struct keydec){ 0 };
}

static void emit(struct keydec *d, int key)
{
	if (d->qlen < KEYDEC_QUEUE)
		d->queue[(d->qhead + d->qlen++) % KEYDEC_QUEUE] = key;
}

/* A byte outside any sequence. */
static void plain(struct keydec *d, uint8_t c)
{
	int cr = d->after_cr;

	d->after_cr = c == '\r';
	if ((c == '\n' || c == 0) && cr)
		return;
	if (c == '\r' || c == '\n')
		emit(d, '\r');
	else if (c == 0x7f || c == 0x08)
		emit(d, '\b');
	else if (c == '\t' || (c >= 0x20 && c < 0x7f))
		emit(d, c);
}

static int tilde_key(int n)
{
	static const int keys[] = {
		[1] = KEY_HOME, [3] = KEY_DEL, [4] = KEY_END, [5] = KEY_PGUP, [6] = KEY_PGDN, [7] = KEY_HOME, [8] = KEY_END,
		[11] = KEY_F(1), [12] = KEY_F(2), [13] = KEY_F(3), [14] = KEY_F(4), [15] = KEY_F(5), [17] = KEY_F(6),
		[18] = KEY_F(7), [19] = KEY_F(8), [20] = KEY_F(9), [21] = KEY_F(10), [23] = KEY_F(11), [24] = KEY_F(12),
	};

	return n > 0 && n < (int)(sizeof keys / sizeof keys[0]) && keys[n] ? keys[n] : -1;
}

static int letter_key(uint8_t f)
{
	switch (f) {
	case 'A': return KEY_UP;
	case 'B': return KEY_DOWN;
	case 'C': return KEY_RIGHT;
	case 'D': return KEY_LEFT;
	case 'H': return KEY_HOME;
	case 'F': return KEY_END;
	case 'P': return KEY_F(1);
	case 'Q': return KEY_F(2);
	case 'R': return KEY_F(3);
	case 'S': return KEY_F(4);
	default: return -1;
	}
}

/* The sequence in d->seq is complete: its key, if we know it. seq[0] is ESC; a second ESC first
 * is the meta prefix (Alt). */
static void finish(struct keydec *d)
{
	const uint8_t *s = d->seq + 1;
	int n = d->len - 1, alt = 0, key = -1, p[2] = { 0, 0 }, np;

	if (s[0] == 0x1b) {
		alt = 1;
		s++;
		n--;
	}
	if (s[0] == 'O' && n == 2) {
		key = letter_key(s[1]);
	} else if (s[0] == '[' && n == 3 && s[1] == '[' && s[2] >= 'A' && s[2] <= 'E') {
		key = KEY_F(s[2] - 'A' + 1);   /* the Linux console's F1-F5 */
	} else if (s[0] == '[' && n >= 2) {
		np = 1;
		for (int i = 1; i < n - 1; i++) {
			if (s[i] >= '0' && s[i] <= '9' && p[np - 1] < 1000)
				p[np - 1] = p[np - 1] * 10 + (s[i] - '0');
			else if (s[i] == ';' && np < 2)
				np++;
			else
				return;   /* private, intermediate or absurd parameters: not a key */
		}
		key = s[n - 1] == '~' ? tilde_key(p[0]) : letter_key(s[n - 1]);
		/* xterm's modifier parameter is 1 + a bit mask: 1 Shift, 2 Alt, 4 Ctrl. */
		if (np == 2 && p[1] > 1 && ((p[1] - 1) & 2))
			alt = 1;
	}
	if (key >= 0)
		emit(d, key | (alt ? KEY_ALT : 0));
}

void keydec_feed(struct keydec *d, uint8_t c, uint64_t now_ms)
{
	int at, body, done;
	uint8_t intro;

	if (d->len < 0) {
		if (c >= 0x40 && c <= 0x7e)
			d->len = 0;
		return;
	}
	if (d->len == 0) {
		if (c != 0x1b) {
			plain(d, c);
			return;
		}
		d->seq[0] = c;
		d->len = 1;
		d->esc_ms = now_ms;
		d->after_cr = 0;
		return;
	}
	/* seq: ESC, perhaps a second ESC (the meta prefix), the introducer at `at`, the body. */
	at = d->len >= 2 && d->seq[1] == 0x1b ? 2 : 1;
	if (d->len == at) {
		if (c == '[' || c == 'O' || (c == 0x1b && d->len == 1)) {
			d->seq[d->len++] = c;
			return;
		}
		/* ESC then an ordinary byte: the Esc key (twice after ESC ESC), then the byte. */
		for (int i = 0; i < d->len; i++)
			emit(d, KEY_ESC);
		d->len = 0;
		keydec_feed(d, c, now_ms);
		return;
	}
	d->seq[d->len++] = c;
	intro = d->seq[at];
	body = d->len - at - 1;
	if (intro == 'O')
		done = 1;
	else if (body == 1 && c == '[')
		done = 0;   /* the Linux console's ESC [ [ letter */
	else if (body == 2 && d->seq[at + 1] == '[')
		done = 1;
	else
		done = c >= 0x40 && c <= 0x7e;
	if (done) {
		finish(d);
		d->len = 0;
	} else if (d->len == (int)sizeof d->seq) {
		d->len = -1;   /* too long to be a key: dropped, up to its final byte */
	}
}

int keydec_key(struct keydec *d, uint64_t now_ms)
{
	int key;

	if (d->len < 0 && now_ms - d->esc_ms >= KEYDEC_ESC_MS)
		d->len = 0;   /* a too long sequence that never ended: typing goes on */
	if (d->qlen == 0 && d->len > 0 && now_ms - d->esc_ms >= KEYDEC_ESC_MS) {
		/* Nothing completed the sequence in time: what came was typed, an Esc and the rest. */
		int at = d->seq[1] == 0x1b && d->len > 1 ? 2 : 1;

		for (int i = 0; i < at; i++)
			emit(d, KEY_ESC);
		for (int i = at; i < d->len; i++)
			plain(d, d->seq[i]);
		d->len = 0;
	}
	if (d->qlen == 0)
		return -1;
	key = d->queue[d->qhead];
	d->qhead = (d->qhead + 1) % KEYDEC_QUEUE;
	d->qlen--;
	return key;
}
