// FAT date/time fields. FAT stores wall-clock time with no zone; we always mean UTC, so the same
// build input gives the same bytes on every host, whatever its TZ.

import { FatError } from './types.js';

export interface FatStamp {
  /** bits 15-9 year-1980, 8-5 month, 4-0 day */
  date: number;
  /** bits 15-11 hours, 10-5 minutes, 4-0 seconds/2 */
  time: number;
  /** Creation time's extra resolution in 10 ms units (0-199): carries the odd second. */
  tenths: number;
}

const FIRST_YEAR = 1980;
const LAST_YEAR = 2107;

export function encodeFatStamp(unixSeconds: number): FatStamp {
  if (!Number.isFinite(unixSeconds)) throw new FatError(`timestamp must be a number of seconds, got ${unixSeconds}`, 'timestamp');
  const d = new Date(Math.floor(unixSeconds) * 1000);
  const year = d.getUTCFullYear();
  if (year < FIRST_YEAR || year > LAST_YEAR) {
    throw new FatError(`timestamp ${unixSeconds} is in ${year}; FAT dates cover ${FIRST_YEAR}..${LAST_YEAR}`, 'timestamp');
  }
  const seconds = d.getUTCSeconds();
  return {
    date: ((year - FIRST_YEAR) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (seconds >> 1),
    tenths: (seconds & 1) * 100,
  };
}

/** Seconds since the epoch of a FAT date+time read as UTC; a zero date (never set) gives 1980-01-01. */
export function decodeFatStamp(date: number, time: number, tenths = 0): number {
  const day = date & 0x1f || 1;
  const month = (date >> 5) & 0x0f || 1;
  const ms = Date.UTC(FIRST_YEAR + (date >> 9), month - 1, day, time >> 11, (time >> 5) & 0x3f, (time & 0x1f) * 2);
  return ms / 1000 + Math.floor(tenths / 100);
}
