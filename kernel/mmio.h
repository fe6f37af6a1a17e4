/* mmio.h: 32-bit device registers by offset from a mapped BAR (ahci.c, xhci.c), and the bounded
 * poll every controller's init steps use. Needs defs.h (tsc_ms) and x86.h (rdtsc, pause). */
#ifndef MMIO_H
#define MMIO_H

static inline uint32_t mmio_rd32(volatile uint8_t *base, uint32_t off)
{
	return *(volatile uint32_t *)(base + off);
}

static inline void mmio_wr32(volatile uint8_t *base, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(base + off) = v;
}

/* Polls until (register & mask) == want, at most `ms`. 0, or -1 on timeout. */
static inline int mmio_wait32(volatile uint8_t *base, uint32_t off, uint32_t mask, uint32_t want, uint64_t ms)
{
	uint64_t start = rdtsc();

	while ((mmio_rd32(base, off) & mask) != want) {
		if (tsc_ms(start, rdtsc()) > ms)
			return -1;
		pause();
	}
	return 0;
}

#endif
