/* i6300esb.c: the 6300ESB watchdog driver shared by the loader and the kernel (i6300esb.h,
 * docs/watchdog.md). No allocation and no waiting: the kernel's panic path feeds it too. */
#include "i6300esb.h"

#define PCI_ADDR 0xCF8
#define PCI_DATA 0xCFC

#define CFG_COMMAND   0x04
#define CMD_MEMORY    0x0002       /* memory space decoding */
#define CFG_BAR0      0x10
#define CFG_WDT       0x60         /* WDT configuration, 16-bit */
#define WDT_INT_OFF   0x0003       /* bits 1:0 = 11: no interrupt at the end of stage 1 */
				   /* bit 2 = 0: the 1 kHz clock; bit 5 = 0: the reset output is on */
#define CFG_LOCK      0x68         /* WDT lock, 8-bit */
#define LOCK_ENABLE   0x02         /* bit 0 (lock until reset) stays 0: the kernel disarms it */

#define REG_PRELOAD1  0x00
#define REG_PRELOAD2  0x04
#define REG_RELOAD    0x0C
#define RELOAD_RELOAD  0x0100
#define RELOAD_TIMEOUT 0x0200      /* WDT_TIMEOUT, write 1 to clear */
#define UNLOCK1       0x80
#define UNLOCK2       0x86
#define PRELOAD_MAX   0xFFFFFu

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

uint32_t esb_preload(uint32_t seconds)
{
	/* seconds * 33e6 / 2^15 ticks in all, half per stage, rounded up. */
	uint64_t ticks = ((uint64_t)seconds * 33000000u + 65535) / 65536;
	return ticks > PRELOAD_MAX ? PRELOAD_MAX : ticks ? (uint32_t)ticks : 1;
}

/* PCI Local Bus Specification 3.0, 3.2.2.3.2: configuration mechanism #1. A write of 1 or 2
 * bytes goes through the matching bytes of the data port, which is how the device sees its size. */
static void cfg_select(const struct esb *w, uint8_t off)
{
	outl(PCI_ADDR, 0x80000000u | (uint32_t)w->bus << 16 | (uint32_t)w->dev << 11 | (uint32_t)w->fn << 8 | (off & 0xFC));
}

static uint32_t cfg_read32(const struct esb *w, uint8_t off)
{
	cfg_select(w, off);
	return inl(PCI_DATA);
}

/* The WDT registers answer only at their own size (the lock register: one byte). */
static uint8_t cfg_read8(const struct esb *w, uint8_t off)
{
	cfg_select(w, off);
	return inb((uint16_t)(PCI_DATA + (off & 3)));
}

static void cfg_write16(const struct esb *w, uint8_t off, uint16_t v)
{
	cfg_select(w, off);
	outw((uint16_t)(PCI_DATA + (off & 2)), v);
}

static void cfg_write8(const struct esb *w, uint8_t off, uint8_t v)
{
	cfg_select(w, off);
	outb((uint16_t)(PCI_DATA + (off & 3)), v);
}

static volatile uint8_t *reg8(const struct esb *w, uint32_t off) { return (volatile uint8_t *)(uintptr_t)(w->regs + off); }
static volatile uint16_t *reg16(const struct esb *w, uint32_t off) { return (volatile uint16_t *)(uintptr_t)(w->regs + off); }
static volatile uint32_t *reg32(const struct esb *w, uint32_t off) { return (volatile uint32_t *)(uintptr_t)(w->regs + off); }

/* Each write to a preload or the reload register needs the unlock sequence right before it. */
static void unlock(const struct esb *w)
{
	*reg8(w, REG_RELOAD) = UNLOCK1;
	*reg8(w, REG_RELOAD) = UNLOCK2;
}

int esb_find(struct esb *w)
{
	for (uint32_t bus = 0; bus < 256; bus++) {
		for (uint8_t dev = 0; dev < 32; dev++) {
			for (uint8_t fn = 0; fn < 8; fn++) {
				*w = (struct esb){ (uint8_t)bus, dev, fn, 0 };
				uint32_t id = cfg_read32(w, 0);
				if ((id & 0xFFFF) == 0xFFFF) {
					if (fn == 0)
						break;   /* no device in this slot */
					continue;
				}
				if (id == ((uint32_t)ESB_DEVICE << 16 | ESB_VENDOR)) {
					uint32_t bar = cfg_read32(w, CFG_BAR0);
					/* A 32-bit memory BAR (bit 0 = 0) that the firmware placed. */
					if ((bar & 1) || (bar & ~0xFu) == 0)
						return -1;
					w->regs = bar & ~0xFu;
					cfg_write16(w, CFG_COMMAND, (uint16_t)(cfg_read32(w, CFG_COMMAND) | CMD_MEMORY));
					return 0;
				}
				/* Header type bit 7: functions 1-7 exist only on a multi-function device. */
				if (fn == 0 && !(cfg_read32(w, 0x0C) >> 16 & 0x80))
					break;
			}
		}
	}
	return -1;
}

int esb_fired(const struct esb *w)
{
	return (*reg16(w, REG_RELOAD) & RELOAD_TIMEOUT) != 0;
}

void esb_clear_fired(const struct esb *w)
{
	unlock(w);
	*reg16(w, REG_RELOAD) = RELOAD_TIMEOUT;
}

int esb_running(const struct esb *w)
{
	return (cfg_read8(w, CFG_LOCK) & LOCK_ENABLE) != 0;
}

void esb_arm(const struct esb *w, uint32_t seconds)
{
	uint32_t p = esb_preload(seconds);

	cfg_write16(w, CFG_WDT, WDT_INT_OFF);
	unlock(w);
	*reg32(w, REG_PRELOAD1) = p;
	unlock(w);
	*reg32(w, REG_PRELOAD2) = p;
	esb_feed(w);                  /* when it was running already, restart it with the new values */
	cfg_write8(w, CFG_LOCK, LOCK_ENABLE);
}

void esb_feed(const struct esb *w)
{
	unlock(w);
	*reg16(w, REG_RELOAD) = RELOAD_RELOAD;
}

void esb_disarm(const struct esb *w)
{
	cfg_write8(w, CFG_LOCK, 0);
}
