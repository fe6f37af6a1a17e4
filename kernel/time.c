/* time.c: time from the TSC, at the rate the loader measured against the firmware's Stall()
 * (bootinfo tsc_hz). The kernel needs time only to report boot durations, to wait before a
 * panic reset and to give up on a device that does not answer. */
#include "defs.h"
#include "x86.h"

/* Used when the loader gave no rate: a guess, but delays stay finite and durations plausible. */
#define TSC_HZ_GUESS 2000000000ull

uint64_t tsc_hz = TSC_HZ_GUESS;

void time_init(uint64_t hz)
{
	if (hz < 1000) {
		kprintf("time: the loader gave no TSC rate; assuming %llu MHz\n", TSC_HZ_GUESS / 1000000);
		return;
	}
	tsc_hz = hz;
}

/* Milliseconds between two TSC readings, without overflowing (ticks * 1000) for long spans. */
uint64_t tsc_ms(uint64_t from, uint64_t to)
{
	uint64_t d = to - from;

	return d / tsc_hz * 1000 + d % tsc_hz * 1000 / tsc_hz;
}

void delay_ms(uint64_t ms)
{
	uint64_t start = rdtsc();

	while (tsc_ms(start, rdtsc()) < ms)
		pause();
}
