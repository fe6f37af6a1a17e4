/* serial.c: COM1, a 16550-compatible UART at I/O port 0x3F8, polled (the kernel runs with
 * interrupts off). Register numbers and bits from the PC16550D data sheet. */
#include "defs.h"
#include "x86.h"

#define COM1 0x3F8

enum {
	RBR = 0, THR = 0, DLL = 0,   /* receive / transmit buffer; divisor latch low when DLAB = 1 */
	IER = 1, DLM = 1,            /* interrupt enable; divisor latch high when DLAB = 1 */
	FCR = 2,                     /* FIFO control (write) */
	LCR = 3,                     /* line control */
	MCR = 4,                     /* modem control */
	LSR = 5,                     /* line status */
	SCR = 7,                     /* scratch */
};

enum { LSR_DR = 0x01, LSR_THRE = 0x20 };   /* data ready; transmit holding register empty */

static int present;

void serial_init(void)
{
	/* A machine without COM1 floats the bus: reads return 0xFF and the scratch register does
	 * not keep what we write. Then stay silent rather than wait on a UART that is not there. */
	outb(COM1 + SCR, 0x5A);
	if (inb(COM1 + SCR) != 0x5A)
		return;

	outb(COM1 + IER, 0x00);      /* 1. no UART interrupts: we poll */
	outb(COM1 + LCR, 0x80);      /* 2. DLAB = 1 to reach the divisor latch */
	outb(COM1 + DLL, 1);         /* 3. divisor 1: 115200 baud from the 1.8432 MHz clock / 16 */
	outb(COM1 + DLM, 0);
	outb(COM1 + LCR, 0x03);      /* 4. DLAB = 0; 8 data bits, no parity, 1 stop bit */
	outb(COM1 + FCR, 0xC7);      /* 5. enable and clear both FIFOs, receive trigger at 14 bytes */
	outb(COM1 + MCR, 0x03);      /* 6. DTR and RTS asserted, so a terminal with flow control talks */
	present = 1;
}

static void putraw(uint8_t c)
{
	/* Bounded: a UART that never drains (a stuck line) must not stop a boot or a panic. At
	 * 115200 baud a byte leaves in ~87 us; 100000 status reads is well beyond that. */
	for (int i = 0; i < 100000 && !(inb(COM1 + LSR) & LSR_THRE); i++)
		pause();
	outb(COM1 + THR, c);
}

void serial_putc(char c)
{
	if (!present)
		return;
	if (c == '\n')
		putraw('\r');
	putraw((uint8_t)c);
}

/* The next received byte, or -1 when none is waiting. */
int serial_getc(void)
{
	if (!present || !(inb(COM1 + LSR) & LSR_DR))
		return -1;
	return inb(COM1 + RBR);
}
