// Telling zero blocks from data, and zeros to write. Untouched memory costs a page fault per
// 4 KiB on first use here (even for reading, ~20 µs each): comparisons go through
// builder/image/blocks.ts's isZero (one shared 64 KiB of zeros), and writes of zeros share one
// aligned buffer.

import type { Bytes } from '../../partitions/units.js';
import { isZero } from '../../support/zero-bytes.cjs';
import { alignedBuffer } from './direct-io.cjs';
import type { Span } from './plan.js';

/** The unit of "is this data": what bmap and our zero detection skip. */
export const BLOCK: Bytes = 4096;
/** What one comparison settles at once in nonZeroRuns, and the least alignedZeros allocates. */
const ZERO_PIECE: Bytes = 64 * 1024;

let zeroPage: Buffer | undefined;

/** A shared, never-written aligned buffer of zeros (at least `size` bytes): one allocation, not one per use. */
export function alignedZeros(size: Bytes): Buffer {
  if (!zeroPage || zeroPage.length < size) zeroPage = alignedBuffer(Math.max(size, ZERO_PIECE));
  return zeroPage.subarray(0, size);
}

/** The runs of BLOCK-sized blocks of `buf` that are not all zeros (the last block may be short), as offsets into `buf`. */
export function nonZeroRuns(buf: Buffer): Span[] {
  const runs: Span[] = [];
  let start = -1;
  for (let piece = 0; piece < buf.length; piece += ZERO_PIECE) {
    const pieceEnd = Math.min(piece + ZERO_PIECE, buf.length);
    // Most of an image, and of a clean stick, is zeros: one comparison settles a whole piece.
    if (start < 0 && isZero(buf, piece, pieceEnd)) continue;
    for (let i = piece; i < pieceEnd; i += BLOCK) {
      const dirty = !isZero(buf, i, Math.min(i + BLOCK, buf.length));
      if (dirty && start < 0) start = i;
      if (!dirty && start >= 0) { runs.push({ start, end: i }); start = -1; }
    }
  }
  if (start >= 0) runs.push({ start, end: buf.length });
  return runs;
}
