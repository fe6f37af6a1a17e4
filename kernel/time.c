/* time.c: time from the TSC, at the rate the loader measured against the firmware's Stall()
 * (bootinfo tsc_hz), and the wall clock from the CMOS RTC. The kernel needs time only to report
 * boot durations, to wait before a panic reset, to give up on a device that does not answer, and
 * to date a core dump. There is no RTC driver: the clock is read directly when asked (UTC, as
 * QEMU and most firmware keep it). */
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

uint64_t now_ms(void)
{
	return tsc_ms(0, rdtsc());
}

void delay_ms(uint64_t ms)
{
	uint64_t start = rdtsc();

	while (tsc_ms(start, rdtsc()) < ms)
		pause();
}

/* CMOS RTC (MC146818, as every PC chipset keeps it): register index out to port 0x70 (bit 7
 * set keeps NMIs masked while we talk to it), value in from 0x71. */
static uint8_t cmos(uint8_t reg)
{
	outb(0x70, 0x80 | reg);
	return inb(0x71);
}

static uint64_t from_bcd(uint8_t v, int bcd)
{
	return bcd ? (uint64_t)(v >> 4) * 10 + (v & 15) : v;
}

/* Seconds since 1970 from the RTC, or 0 when it does not answer sensibly. The registers change
 * during an update, so read them after the update-in-progress flag (A bit 7) clears, and again
 * until two readings agree. Status B bit 2: binary (else BCD); bit 1: 24-hour (else 12-hour
 * with bit 7 of the hour meaning PM). The century register (0x32) is not in every RTC, so
 * two-digit years are taken as 20xx. */
uint64_t rtc_seconds(void)
{
	uint8_t r[6], again[6], b;
	uint64_t sec, min, hour, day, mon, year, days;
	int tries = 0, bcd;

	do {
		for (int i = 0; i < 100000 && (cmos(0x0A) & 0x80); i++)
			pause();
		r[0] = cmos(0x00), r[1] = cmos(0x02), r[2] = cmos(0x04), r[3] = cmos(0x07), r[4] = cmos(0x08), r[5] = cmos(0x09);
		for (int i = 0; i < 100000 && (cmos(0x0A) & 0x80); i++)
			pause();
		again[0] = cmos(0x00), again[1] = cmos(0x02), again[2] = cmos(0x04), again[3] = cmos(0x07),
		again[4] = cmos(0x08), again[5] = cmos(0x09);
	} while (memcmp(r, again, sizeof r) != 0 && ++tries < 5);
	b = cmos(0x0B);
	bcd = !(b & 0x04);
	sec = from_bcd(r[0], bcd);
	min = from_bcd(r[1], bcd);
	hour = from_bcd(r[2] & 0x7F, bcd);
	if (!(b & 0x02) && (r[2] & 0x80))
		hour = hour % 12 + 12;
	else if (!(b & 0x02) && hour == 12)
		hour = 0;
	day = from_bcd(r[3], bcd);
	mon = from_bcd(r[4], bcd);
	year = 2000 + from_bcd(r[5], bcd);
	if (sec > 59 || min > 59 || hour > 23 || day < 1 || day > 31 || mon < 1 || mon > 12 || year > 2099)
		return 0;
	/* Days from 1970-01-01 to the date (the civil-from-days inverse, years starting in March). */
	year -= mon <= 2;
	days = year * 365 + year / 4 - year / 100 + year / 400 + (153 * (mon > 2 ? mon - 3 : mon + 9) + 2) / 5 + day - 1 -
	       719468;
	return days * 86400 + hour * 3600 + min * 60 + sec;
}
