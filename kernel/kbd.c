/* kbd.c: the PS/2 keyboard through the i8042 controller, polled (interrupts stay off). The
 * controller's translation (command byte bit 6) is switched on, so the keyboard's codes arrive
 * as scan code set 1 whatever set the firmware left it in: a make code below 0x80, its break
 * code with bit 7 set, extended keys prefixed by 0xE0. Only what the DCUI needs is mapped: the
 * printable keys of a US layout with Shift, Enter, Backspace, Escape, Up and Down. Bytes from
 * the mouse port (status bit 5) are dropped. Ports and commands from the IBM PC/AT technical
 * reference: data 0x60, status/command 0x64, 0x20 read and 0x60 write the command byte. */
#include "system.h"
#include "x86.h"

enum { DATA = 0x60, STATUS = 0x64 };
enum { ST_OUT = 0x01, ST_IN = 0x02, ST_AUX = 0x20 };

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

static int present, shift, extended;

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

/* The next key as a character or KEY_*, or -1 when none is waiting. */
int kbd_getc(void)
{
	uint8_t st, sc;

	while (present && ((st = inb(STATUS)) & ST_OUT)) {
		sc = inb(DATA);
		if (st & ST_AUX)
			continue;
		if (sc == 0xE0) {
			extended = 1;
			continue;
		}
		if (extended) {
			extended = 0;
			if (sc == 0x48)
				return KEY_UP;
			if (sc == 0x50)
				return KEY_DOWN;
			if (sc == 0x1C)
				return '\r';   /* keypad Enter */
			continue;
		}
		if (sc == 0x2A || sc == 0x36 || sc == 0xAA || sc == 0xB6) {
			shift = !(sc & 0x80);
			continue;
		}
		if (sc & 0x80)
			continue;
		if (sc == 0x01)
			return KEY_ESC;
		if (sc < sizeof normal && normal[sc])
			return shift ? shifted[sc] : normal[sc];
	}
	return -1;
}
