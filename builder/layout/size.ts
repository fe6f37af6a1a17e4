// Sizes in layout files: a byte count, or a number with a binary unit ("48MiB"). Decimal units
// (MB, GB) are refused rather than guessed at: a 48 MB partition is not a 48 MiB one.

import type { Bytes } from '../../partitions/units.js';

const UNITS: Record<string, number> = { B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 };
const SIZE = /^\s*(\d+)\s*([A-Za-z]*)\s*$/;

/** Bytes for `value`, or a message saying what is wrong with it. */
export function parseSize(value: unknown): Bytes | string {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value > 0 ? value : `expected a positive whole number of bytes, got ${value}`;
  }
  if (typeof value !== 'string') return `expected a size such as "48MiB" or a byte count, got ${JSON.stringify(value)}`;
  const m = SIZE.exec(value);
  if (!m) return `expected a size such as "48MiB" or a byte count, got ${JSON.stringify(value)}`;
  const unit = m[2] || 'B';
  const mult = UNITS[unit];
  if (mult === undefined) {
    return `unknown unit "${unit}" in ${JSON.stringify(value)}: use B, KiB, MiB, GiB or TiB (decimal units such as MB are ambiguous)`;
  }
  const n = Number(m[1]) * mult;
  if (!Number.isSafeInteger(n) || n <= 0) return `size ${JSON.stringify(value)} is out of range`;
  return n;
}

/** "48 MiB" style text for messages and listings. */
export function formatSize(bytes: Bytes): string {
  for (const [unit, mult] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (bytes >= mult && bytes % mult === 0) return `${bytes / mult} ${unit}`;
  }
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${bytes} B`;
}
