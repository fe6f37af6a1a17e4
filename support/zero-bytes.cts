// Telling zeros from data, and hashing zeros, for the main thread and for flash's worker thread
// (which loads no ES module: disk/flash/block-pass.cts says why this is CommonJS). Untouched
// memory costs a page fault per 4 KiB on first use on these machines, even for reading, so both
// go through one shared 64 KiB of zeros, which nothing outside this file can reach (one write
// through a view of it would break every later zero check).

import type { Hash } from 'node:crypto';

const ZERO_BYTES = Buffer.alloc(64 * 1024);

/** Whether bytes `start` to `end` of `data` are all zeros, compared 64 KiB at a time. */
export function isZero(data: Uint8Array, start = 0, end = data.length): boolean {
  for (let at = start; at < end; at += ZERO_BYTES.length) {
    const to = Math.min(at + ZERO_BYTES.length, end);
    if (ZERO_BYTES.compare(data, at, to, 0, to - at) !== 0) return false;
  }
  return true;
}

/** Feeds `length` zero bytes into `h` (a hole, a block's unwritten part). */
export function hashZeros(h: Hash, length: number): void {
  for (let done = 0; done < length; done += ZERO_BYTES.length) h.update(ZERO_BYTES.subarray(0, Math.min(ZERO_BYTES.length, length - done)));
}
