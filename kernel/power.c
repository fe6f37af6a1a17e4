/* power.c: resetting the machine, for a panic (panic.c) and for the DCUI's Reboot (dcui.c).
 * Each way below may be missing or ignored on a given board, so they are tried in turn, from
 * the cleanest to the one that always works. */
#include "defs.h"
#include "x86.h"

NORETURN void machine_reset(void)
{
	static const struct dtr no_idt = { 0, 0 };

	/* The reset control register (0xCF9, PIIX and ICH chipsets, QEMU's q35): a full reset. */
	outb(0xCF9, 0x02);
	outb(0xCF9, 0x06);
	delay_ms(100);

	/* Pulse the reset line through the keyboard controller (command 0xFE): wait until its
	 * input buffer is empty (status bit 1) so the command is taken, then give the board a
	 * moment to act on it. */
	for (int i = 0; i < 100000 && (inb(0x64) & 0x02); i++)
		pause();
	outb(0x64, 0xFE);
	delay_ms(100);

	/* Neither did anything: with an empty IDT the next exception cannot be delivered, nor can
	 * the double fault that follows, and the CPU shuts down (a triple fault), which resets a PC. */
	__asm__ volatile("lidt %0; int3" : : "m"(no_idt));
	for (;;)
		hlt();
}
