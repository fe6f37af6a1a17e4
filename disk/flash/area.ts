// The first and the last MiB of the device as a flash composes them in memory before writing
// them last: zeros, with the image's data and the relocated partition table copied in. Fresh
// memory costs a page fault per 4 KiB on first use here, reading included (~20 µs each), so the
// parts never copied into are never read either: they are zeros, which the clearing at the
// start of the flash made them on the device, and verify holds them to that.

import type { Bytes } from '../../partitions/units.js';
import { alignedBuffer } from './direct-io.cjs';
import type { Span } from './plan.js';
import { mergeSpans } from './spans.js';
import { BLOCK } from './zeros.js';

export class ComposedArea {
  /** An aligned buffer for device bytes [base, base + size), as O_DIRECT wants. */
  readonly buf: Buffer;
  private readonly filled: Span[] = [];

  constructor(readonly base: Bytes, size: Bytes) {
    this.buf = alignedBuffer(size);
  }

  /** Copies the part of `data` (device bytes from `offset`) that falls in this area and below `limit`. */
  copyIn(offset: Bytes, data: Buffer, limit: Bytes = Infinity): void {
    const start = Math.max(offset, this.base), end = Math.min(offset + data.length, this.base + this.buf.length, limit);
    if (end <= start) return;
    data.copy(this.buf, start - this.base, start - offset, end - offset);
    this.filled.push({ start: start - this.base, end: end - this.base });
  }

  /** The BLOCK-aligned runs of `buf` that something was copied into, in order and merged; the rest is zeros. */
  filledBlocks(): Span[] {
    return mergeSpans(this.filled.map((f) => ({ start: Math.floor(f.start / BLOCK) * BLOCK, end: Math.min(this.buf.length, Math.ceil(f.end / BLOCK) * BLOCK) })));
  }
}
