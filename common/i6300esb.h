/* i6300esb.h: the watchdog timer of the Intel 6300ESB I/O controller hub (PCI 8086:25AB), which
 * the loader arms for a trial boot and the kernel feeds until the bank is marked good
 * (docs/watchdog.md). One driver for both: they run on x86-64 with PCI configuration space at
 * the legacy ports 0xCF8/0xCFC and the device's registers identity-mapped.
 *
 * Registers (Intel 6300ESB datasheet, "Watchdog Timer"): configuration space 0x60 WDT
 * configuration (16-bit), 0x68 WDT lock (8-bit); memory BAR0 offset 0x00 preload value 1,
 * 0x04 preload value 2 (20 bits each), 0x0C reload register (16-bit). Preload and reload writes
 * must each follow the unlock sequence 0x80, 0x86 written to 0x0C. The timer counts preload 1
 * (stage 1, an interrupt we leave disabled), then preload 2 (stage 2), then drives the reset
 * line; a reload restarts stage 1. Reload register bit 9 (WDT_TIMEOUT) says the last reset came
 * from the watchdog; it survives that reset and is cleared by writing 1 to it. */
#ifndef BF_I6300ESB_H
#define BF_I6300ESB_H
#include "bftypes.h"

#define ESB_VENDOR 0x8086
#define ESB_DEVICE 0x25AB

struct esb {
	uint8_t bus, dev, fn;
	uint64_t regs;                /* BAR0: the memory-mapped registers */
};

/* Preload value for each of the two stages so that both together last `seconds`: the timer
 * counts at 33 MHz / 2^15 (the 1 kHz setting), half the time in each stage. At most 0xFFFFF. */
uint32_t esb_preload(uint32_t seconds);

/* Find the device on PCI buses 0-255 and turn on its memory decoding. 0, or -1 when there is
 * none (or the firmware gave it no BAR). */
int esb_find(struct esb *w);
int esb_fired(const struct esb *w);    /* the last reset was this watchdog's (WDT_TIMEOUT) */
void esb_clear_fired(const struct esb *w);
int esb_running(const struct esb *w);  /* enabled: counting down */
void esb_arm(const struct esb *w, uint32_t seconds);
void esb_feed(const struct esb *w);
void esb_disarm(const struct esb *w);

#endif
