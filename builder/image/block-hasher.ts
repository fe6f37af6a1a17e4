// The manifest's block digests (blocks.ts), computed from the bytes as the build writes them
// instead of by reading the image back: the FAT writer and the image writer go through the disk
// in one ascending pass, so each block's bytes arrive in order, and the gaps between writes are
// holes that read as zeros. A write that goes back (into a block already left, or before what
// was hashed of the current one) marks that block to be hashed from the file at the end; the
// backup GPT, written first at the disk's end, is the one such block of a build.

import { createHash, type Hash } from 'node:crypto';
import type { Bytes } from '../../partitions/units.js';
import { blockCount } from './blocks.js';
import { hashZeros } from '../../support/zero-bytes.cjs';

export class BlockHasher {
  private readonly digests = new Map<number, string>();
  private readonly again = new Set<number>();
  /** The block being hashed, and how many of its bytes went into `hash`. */
  private block = -1;
  private hashed: Bytes = 0;
  private hash: Hash | undefined;

  constructor(readonly imageSize: Bytes, readonly blockSize: Bytes) {}

  /** Hear a write of `data` at image byte `offset` (before or while it is written: it is only read). */
  add(offset: Bytes, data: Uint8Array): void {
    let at = offset, i = 0;
    while (i < data.length) {
      const b = Math.floor(at / this.blockSize);
      const inBlock = at - b * this.blockSize;
      const n = Math.min(this.blockLength(b) - inBlock, data.length - i);
      if (b !== this.block) {
        this.finish();
        if (this.digests.delete(b) || this.again.has(b)) this.again.add(b);
        else { this.block = b; this.hash = createHash('sha256'); }
      }
      if (b === this.block) {
        if (inBlock < this.hashed) {
          // Back inside the block being hashed: its bytes are no longer in order.
          this.again.add(b);
          this.block = -1;
          this.hashed = 0;
          this.hash = undefined;
        } else {
          hashZeros(this.hash!, inBlock - this.hashed);
          this.hash!.update(data.subarray(i, i + n));
          this.hashed = inBlock + n;
        }
      }
      at += n;
      i += n;
    }
  }

  /**
   * The digest of every block a write touched, those marked to be hashed again read from the
   * image through `hashFromFile` (block numbers in, digests out, in order).
   */
  async result(hashFromFile: (blocks: number[]) => Promise<string[]>): Promise<Map<number, string>> {
    this.finish();
    const again = [...this.again].sort((a, b) => a - b);
    const digests = await hashFromFile(again);
    again.forEach((b, k) => this.digests.set(b, digests[k]!));
    this.again.clear();
    return this.digests;
  }

  private finish(): void {
    if (this.hash) {
      hashZeros(this.hash, this.blockLength(this.block) - this.hashed);
      this.digests.set(this.block, this.hash.digest('hex'));
    }
    this.block = -1;
    this.hashed = 0;
    this.hash = undefined;
  }

  private blockLength(b: number): Bytes {
    if (b >= blockCount(this.imageSize, this.blockSize)) throw new RangeError(`a write at block ${b} is past the image's ${this.imageSize} bytes`);
    return Math.min(this.blockSize, this.imageSize - b * this.blockSize);
  }
}
