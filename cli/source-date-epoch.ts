// SOURCE_DATE_EPOCH for `build` and `bundle`: whole seconds, within what every timestamp it
// becomes can hold (FAT dates run from 1980 to 2107; a bundle manifest takes dates up to 2099).
// Checked here, before anything is built, so a bad value is blamed on the variable and not on
// whichever partition first tried to store it.

import { BankforgeError } from '../support/errors.js';

/** 1980-01-01 00:00:00 UTC: where FAT dates begin. */
export const EPOCH_MIN = 315532800;
/** 2107-12-31 23:59:58 UTC: the last FAT date. */
export const EPOCH_MAX_FAT = 4354819198;

/** The variable's value, `fallback` when unset or empty; `max` is the latest the command can store. */
export function sourceDateEpoch(fallback: number | undefined, max: number, maxWhat: string): number | undefined {
  const text = process.env.SOURCE_DATE_EPOCH;
  if (text === undefined || text === '') return fallback;
  const n = /^[0-9]+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < EPOCH_MIN || n > max) {
    throw new BankforgeError(`SOURCE_DATE_EPOCH=${JSON.stringify(text)}: expected whole seconds since 1970 from ${EPOCH_MIN} (1980-01-01, where FAT dates begin) to ${max} (${maxWhat})`);
  }
  return n;
}
