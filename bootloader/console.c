/* console.c: the loader's one output path. Every message goes to the screen and to COM1 (port
 * 0x3f8, written directly), so a headless box with only a serial cable and a box with only a
 * screen both see every line; serial bytes also come in here for the menu. After
 * ExitBootServices only COM1 is left.
 *
 * The screen is every text output of the firmware that is not a serial terminal: OVMF (like most
 * firmware with a serial console) puts a terminal on COM1 into ConOut, so writing to ConOut and
 * to COM1 would print every line twice on the serial line. Only when the firmware names no
 * such text output does the loader fall back to ConOut itself. */
#include <stdarg.h>
#include "loader.h"
#include "fmt.h"
#include "bfstring.h"

#define COM1 0x3f8
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY  0x20

#define MAX_SCREENS 4

static int serial_ok;      /* a UART answers at COM1 */
static int nscreens;       /* text outputs to write; 0 after ExitBootServices */
static efi_simple_text_output *screens[MAX_SCREENS];

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static int is_serial_terminal(const efi_device_path *n)
{
	for (; n->type != DP_END && dp_node_len(n) >= sizeof *n; n = dp_next(n))
		if (n->type == DP_MESSAGING && n->subtype == DP_MSG_UART)
			return 1;
	return 0;
}

static void find_screens(void)
{
	static const efi_guid out_guid = EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL_GUID, dp_guid = EFI_DEVICE_PATH_PROTOCOL_GUID;
	efi_handle *handles;
	uint64_t count;
	nscreens = 0;
	if (!EFI_IS_ERROR(g_bs->locate_handle_buffer(EFI_BY_PROTOCOL, &out_guid, NULL, &count, &handles))) {
		for (uint64_t i = 0; i < count && nscreens < MAX_SCREENS; i++) {
			efi_device_path *path;
			efi_simple_text_output *out;
			/* The console splitter (ConOut itself) has no device path: skip it. */
			if (EFI_IS_ERROR(g_bs->handle_protocol(handles[i], &dp_guid, (void **)&path)) ||
			    is_serial_terminal(path) ||
			    EFI_IS_ERROR(g_bs->handle_protocol(handles[i], &out_guid, (void **)&out)))
				continue;
			screens[nscreens++] = out;
		}
		g_bs->free_pool(handles);
	}
	if (nscreens == 0 && g_st->con_out)
		screens[nscreens++] = g_st->con_out;
}

void con_init(void)
{
	/* A missing UART reads back 0xff; the scratch register tells a real one. */
	outb(COM1 + 7, 0x5a);
	serial_ok = inb(COM1 + 7) == 0x5a;
	if (serial_ok) {
		outb(COM1 + 1, 0x00);   /* no interrupts */
		outb(COM1 + 3, 0x80);   /* divisor latch */
		outb(COM1 + 0, 0x01);   /* 115200 baud */
		outb(COM1 + 1, 0x00);
		outb(COM1 + 3, 0x03);   /* 8N1 */
		outb(COM1 + 2, 0x07);   /* FIFOs on and cleared */
		outb(COM1 + 4, 0x03);   /* DTR, RTS */
	}
	find_screens();
}

static void serial_putc(char c)
{
	/* Bounded wait: a wedged UART must not hang the boot. */
	for (int spin = 0; spin < 100000 && !(inb(COM1 + 5) & LSR_THR_EMPTY); spin++)
		;
	outb(COM1, (uint8_t)c);
}

int con_serial_getc(void)
{
	if (!serial_ok || !(inb(COM1 + 5) & LSR_DATA_READY))
		return -1;
	return inb(COM1);
}

void con_exit_boot_services(void)
{
	nscreens = 0;
}

static void screen_write(const char16 *s)
{
	for (int i = 0; i < nscreens; i++)
		screens[i]->output_string(screens[i], s);
}

static void con_write(const char *s)
{
	char16 wide[129];
	size_t n = 0;
	for (; *s; s++) {
		if (serial_ok) {
			if (*s == '\n')
				serial_putc('\r');
			serial_putc(*s);
		}
		if (nscreens) {
			if (*s == '\n')
				wide[n++] = '\r';
			wide[n++] = (uint8_t)*s;
			if (n >= 127) {
				wide[n] = 0;
				screen_write(wide);
				n = 0;
			}
		}
	}
	if (n) {
		wide[n] = 0;
		screen_write(wide);
	}
}

void con_print(const char *fmt, ...)
{
	char line[320];
	va_list ap;
	va_start(ap, fmt);
	bf_vfmt(line, sizeof line, fmt, ap);
	va_end(ap);
	con_write(line);
}
