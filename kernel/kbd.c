/* kbd.c: the PS/2 keyboard through the i8042 controller, polled (interrupts stay off). The
 * controller's translation (command byte bit 6) is switched on, so the keyboard's codes arrive
 * as scan code set 1 whatever set the firmware left it in: a make code below 0x80, its break
 * code with bit 7 set, extended keys prefixed by 0xE0. Mapped: the printable keys of a US layout
 * with Shift, Enter, Backspace, Tab, Escape, the arrows, Home/End, PgUp/PgDn, Delete and F1-F12,
 * with Alt (either) or-ed in as KEY_ALT (tui.h). Bytes from the mouse port (status bit 5) are
 * dropped. Ports and commands from the IBM PC/AT technical reference: data 0x60,
 * status/command 0x64, 0x20 read and 0x60 write the command byte. */
#include "system.h"
#include "x86.h"

enum { DATA = 0x60, STATUS = 0x64 };
enum { ST_OUT = 0x01, ST_IN = 0x02, ST_AUX = 0x20 };
enum { SC_LSHIFT = 0x2A, SC_RSHIFT = 0x36, SC_ALT = 0x38, SC_F1 = 0x3B, SC_F10 = 0x44, SC_F11 = 0x57, SC_F12 = 0x58 };

static const char normal[0x3a] = {
	0, 0, '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '-', '=', '\b', '\t',
	'q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p', '[', ']', '\r', 0, 'a', 's',
	'd', 'f', 'g', 'h', 'j', 'k', 'l', ';', '\'', '`', 0, '\\', 'z', 'x', 'c', 'v',
	'b', 'n', 'm', ',', '.', '/', 0, '*', 0, ' ',
};
static const char shifted[0x3a] = {
	0, 0, '!', '@', '#', '$', '%', '^', '&', '*', '(', ')', '_', '+', '\b', '\t',
	'Q', 'W', 'E', 'R', 'T', 'Y', 'U', 'I', 'O', 'P', '{', '}', '\r', 0, 'A', 'S',
	'D', 'F', 'G', 'H', 'J', 'K', 'L', ':', '"', '~', 0, '|', 'Z', 'X', 'C', 'V',
	'B', 'N', 'M', '<', '>', '?', 0, '*', 0, ' ',
};

static int present, shift, alt, extended;

/* Wait (bounded) until the controller can take a byte; 0 when it never could. */
static int can_write(void)
{
	for (int i = 0; i < 100000; i++) {
		if (!(inb(STATUS) & ST_IN))
			return 1;
		pause();
	}
	return 0;
}

static int read_byte(void)
{
	for (int i = 0; i < 100000; i++) {
		if (inb(STATUS) & ST_OUT)
			return inb(DATA);
		pause();
	}
	return -1;
}

void kbd_init(void)
{
	int cb;

	/* No controller: the status port floats to 0xFF. */
	if (inb(STATUS) == 0xFF)
		return;
	while (inb(STATUS) & ST_OUT)   /* drop what the firmware left unread */
		inb(DATA);
	if (!can_write())
		return;
	outb(STATUS, 0x20);
	if ((cb = read_byte()) < 0)
		return;
	/* Translation on (bit 6), both ports' interrupts off (bits 0 and 1): we poll. */
	cb = (cb | 0x40) & ~0x03;
	if (!can_write())
		return;
	outb(STATUS, 0x60);
	if (!can_write())
		return;
	outb(DATA, (uint8_t)cb);
	present = 1;
}

/* An 0xE0-prefixed make code: the grey keys. */
static int extended_key(uint8_t sc)
{
	switch (sc) {
	case 0x48: return KEY_UP;
	case 0x50: return KEY_DOWN;
	case 0x4B: return KEY_LEFT;
	case 0x4D: return KEY_RIGHT;
	case 0x47: return KEY_HOME;
	case 0x4F: return KEY_END;
	case 0x49: return KEY_PGUP;
	case 0x51: return KEY_PGDN;
	case 0x53: return KEY_DEL;
	case 0x1C: return '\r';   /* keypad Enter */
	default: return -1;
	}
}

/* The next key as a character or KEY_* (tui.h), or -1 when none is waiting. */
int kbd_getc(void)
{
	uint8_t st, sc;
	int key;

	while (present && ((st = inb(STATUS)) & ST_OUT)) {
		sc = inb(DATA);
		if (st & ST_AUX)
			continue;
		if (sc == 0xE0) {
			extended = 1;
			continue;
		}
		if ((sc & 0x7F) == SC_ALT) {   /* left Alt, or right Alt after 0xE0 */
			alt = !(sc & 0x80);
			extended = 0;
			continue;
		}
		if (extended) {
			extended = 0;
			if (sc & 0x80 || (key = extended_key(sc)) < 0)
				continue;
			return key | (alt ? KEY_ALT : 0);
		}
		if (sc == SC_LSHIFT || sc == SC_RSHIFT || sc == (SC_LSHIFT | 0x80) || sc == (SC_RSHIFT | 0x80)) {
			shift = !(sc & 0x80);
			continue;
		}
		if (sc & 0x80)
			continue;
		if (sc == 0x01)
			key = KEY_ESC;
		else if (sc >= SC_F1 && sc <= SC_F10)
			key = KEY_F(sc - SC_F1 + 1);
		else if (sc == SC_F11 || sc == SC_F12)
			key = KEY_F(sc == SC_F11 ? 11 : 12);
		else if (sc < sizeof normal && normal[sc])
			key = (uint8_t)(shift ? shifted[sc] : normal[sc]);
		else
			continue;
		return key | (alt ? KEY_ALT : 0);
	}
	return -1;
}
