// Telling zero blocks from data. Untouched memory costs a page fault per 4 KiB on first use here
// (even for reading, ~20 µs each), so a comparison against a 4 MiB buffer of zeros cost ~20 ms
// the first time; comparisons use only the first ZERO_PIECE of one shared zero buffer.

import type { Bytes } from '../../partitions/units.js';
import { alignedBuffer } from './direct-io.js';
import type { Span } from './plan.js';

/** The unit of "is this data": what bmap and our zero detection skip. */
export const BLOCK: Bytes = 4096;
const ZERO_PIECE: Bytes = 64 * 1024;

let zeroPage: Buffer | undefined;

/** A shared, never-written aligned buffer of zeros (at least `size` bytes): one allocation, not one per use. */
export function alignedZeros(size: Bytes): Buffer {
  if (!zeroPage || zeroPage.length < size) zeroPage = alignedBuffer(Math.max(size, ZERO_PIECE));
  return zeroPage.subarray(0, size);
}

function zeroFrom(buf: Buffer, start: number, end: number): boolean {
  return alignedZeros(ZERO_PIECE).compare(buf, start, end, 0, end - start) === 0;
}

export function isZero(buf: Buffer): boolean {
  for (let at = 0; at < buf.length; at += ZERO_PIECE) if (!zeroFrom(buf, at, Math.min(at + ZERO_PIECE, buf.length))) return false;
  return true;
}

/** The runs of BLOCK-sized blocks of `buf` that are not all zeros (the last block may be short), as offsets into `buf`. */
export function nonZeroRuns(buf: Buffer): Span[] {
  const runs: Span[] = [];
  let start = -1;
  for (let piece = 0; piece < buf.length; piece += ZERO_PIECE) {
    const pieceEnd = Math.min(piece + ZERO_PIECE, buf.length);
    // Most of an image, and of a clean stick, is zeros: one comparison settles a whole piece.
    if (start < 0 && zeroFrom(buf, piece, pieceEnd)) continue;
    for (let i = piece; i < pieceEnd; i += BLOCK) {
      const dirty = !zeroFrom(buf, i, Math.min(i + BLOCK, buf.length));
      if (dirty && start < 0) start = i;
      if (!dirty && start >= 0) { runs.push({ start, end: i }); start = -1; }
    }
  }
  if (start >= 0) runs.push({ start, end: buf.length });
  return runs;
}
