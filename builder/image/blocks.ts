// The manifest's block list (docs/manifest.md, format 2): the image cut into fixed-size blocks,
// each either a declared hole (all zeros, not hashed) or data with its own sha256. A build hashes
// only the blocks its writer put data in, so the cost follows the data, not the disk size (as
// bmap and dm-verity do), and it hashes them as it writes them (block-hasher.ts); any range of
// the image can then be checked against it by reading just that range. A hole is checked as zeros; `zeroSha256` is the digest a whole hole block would
// have, computed once, for readers that compare digests only.

import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Bytes } from '../../partitions/units.js';
import type { Range } from './sparse-file.js';
import { hashZeros, isZero } from '../../support/zero-bytes.cjs';

/**
 * 256 KiB: a partition (on 1 MiB by default) is whole blocks, and a 64 GiB disk full of data is
 * 262144 digests (~17 MB of manifest). A block the build writes a little into is hashed whole,
 * zeros and all, and a build writes a little into many: each FAT's boot sector, tables and root
 * directory, each bank's state record, the core-dump area's marker, the GPT's two copies. With 1 MiB blocks the seed
 * layout hashed ~8.8 MiB of such zeros (~6 ms here, a third of a 20 MB build's hashing), with
 * 256 KiB ~2.5 MiB; the ~200 MiB image's flash, which checks a block a read, was no slower.
 * 64 KiB cut the zeros to 0.7 MiB, but made that flash 10-15% slower.
 */
export const BLOCK_SIZE: Bytes = 256 * 1024;

/** Blocks `first` .. `first + count - 1`: with `sha256` (one per block) data, without it holes. */
export interface BlockRun { first: number; count: number; sha256?: string[] }

export interface BlockList {
  /** Bytes per block; the last block is shorter when the image size is not a multiple. */
  size: Bytes;
  /** sha256 of one whole block of zeros: what a hole block would hash to. */
  zeroSha256: string;
  /** Runs in order, covering every block exactly once. */
  runs: BlockRun[];
}

/** Read this much at a time: a data run of many blocks is read in few calls. */
const READ_CHUNK: Bytes = 8 * 1024 * 1024;

export function blockCount(imageSize: Bytes, blockSize: Bytes): number {
  return Math.ceil(imageSize / blockSize);
}

/** Runs of blocks touched by `data` (sorted, merged ranges), with holes between. */
export function blockRuns(imageSize: Bytes, data: readonly Range[], blockSize: Bytes = BLOCK_SIZE): { first: number; count: number; data: boolean }[] {
  const total = blockCount(imageSize, blockSize);
  const out: { first: number; count: number; data: boolean }[] = [];
  let next = 0;
  for (const r of data) {
    if (r.length <= 0) continue;
    const first = Math.floor(r.offset / blockSize);
    const end = Math.ceil((r.offset + r.length) / blockSize);
    const last = out[out.length - 1];
    if (last?.data && first <= next) {
      // Touches or shares a block with the previous run.
      if (end > next) { last.count += end - next; next = end; }
      continue;
    }
    if (first > next) out.push({ first: next, count: first - next, data: false });
    const from = Math.max(first, next);
    if (end > from) out.push({ first: from, count: end - from, data: true });
    next = Math.max(next, end);
  }
  if (next < total) out.push({ first: next, count: total - next, data: false });
  return out;
}

/**
 * The block list of an image whose data lies in `data` (sorted, merged ranges): every block a
 * range touches is a data block and must have its digest in `digests`; the rest are holes.
 */
export function blockList(imageSize: Bytes, data: readonly Range[], digests: ReadonlyMap<number, string>, blockSize: Bytes = BLOCK_SIZE): BlockList {
  const runs: BlockRun[] = blockRuns(imageSize, data, blockSize).map((r) => {
    if (!r.data) return { first: r.first, count: r.count };
    const sha256 = Array.from({ length: r.count }, (_, k) => {
      const d = digests.get(r.first + k);
      if (d === undefined) throw new Error(`block ${r.first + k} holds data but was not hashed`);
      return d;
    });
    return { first: r.first, count: r.count, sha256 };
  });
  return { size: blockSize, zeroSha256: zeroDigest(blockSize), runs };
}

/** Blocks `first` .. `first + count - 1` of one data run, hashed as one job. */
export interface Piece { first: number; count: number }
export interface HashPiecesJob { path: string; imageSize: Bytes; blockSize: Bytes; pieces: Piece[] }

/** The digests of each piece's blocks, in order, read from the image file. */
export async function hashPieces(job: HashPiecesJob): Promise<string[][]> {
  const { path, imageSize, blockSize } = job;
  const fh = await open(path, 'r');
  try {
    // No bigger than the largest piece: untouched memory costs a page fault per 4 KiB here, and a
    // build re-hashes only a block or two (the backup GPT's).
    const most = job.pieces.reduce((m, p) => Math.max(m, p.count), 0) * blockSize;
    const buf = Buffer.allocUnsafe(Math.max(blockSize, Math.min(most, Math.floor(READ_CHUNK / blockSize) * blockSize)));
    return await mapInOrder(job.pieces, async (p) => {
      const sha256: string[] = [];
      const end = Math.min(imageSize, (p.first + p.count) * blockSize);
      for (let at = p.first * blockSize; at < end; at += buf.length) {
        const n = Math.min(buf.length, end - at);
        let got = 0;
        while (got < n) {
          const { bytesRead } = await fh.read(buf, got, n - got, at + got);
          if (bytesRead === 0) throw new Error(`${path}: ended at byte ${at + got} while hashing`);
          got += bytesRead;
        }
        for (let b = 0; b < n; b += blockSize) sha256.push(createHash('sha256').update(buf.subarray(b, Math.min(n, b + blockSize))).digest('hex'));
      }
      return sha256;
    });
  } finally {
    await fh.close();
  }
}

async function mapInOrder<T, U>(xs: readonly T[], f: (x: T) => Promise<U>): Promise<U[]> {
  const out: U[] = [];
  for (const x of xs) out.push(await f(x));
  return out;
}

/** sha256 of `blockSize` zero bytes. */
export function zeroDigest(blockSize: Bytes): string {
  const h = createHash('sha256');
  hashZeros(h, blockSize);
  return h.digest('hex');
}

/** What a reader needs from a block list: for block `i`, its digest, or undefined for a hole. */
export function blockDigests(list: BlockList): (i: number) => string | undefined {
  const starts = list.runs.map((r) => r.first);
  return (i) => {
    // Binary search for the run holding block i.
    let lo = 0, hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= i) lo = mid; else hi = mid - 1;
    }
    const r = list.runs[lo];
    if (!r || i < r.first || i >= r.first + r.count) throw new RangeError(`block ${i} is outside the block list`);
    return r.sha256?.[i - r.first];
  };
}

/** Where the bytes read differ from the block list: a block's digest, or a hole that is not zeros. */
export interface BlockMismatch { block: number; offset: Bytes; length: Bytes; hole: boolean; seen: string; expected: string }

/** The mismatch in words, after "IMAGE does not match MANIFEST: ". */
export function blockMismatchText(x: BlockMismatch): string {
  return `block ${x.block} (bytes ${x.offset}..${x.offset + x.length - 1}) ${x.hole ? 'holds data where the manifest declares a hole' : `hashes to ${x.seen}, the manifest says ${x.expected}`}`;
}

/**
 * Checks an image read in order from byte `start` (a block boundary) against a block list:
 * feed it the bytes as they come, then `end()`. Data blocks are hashed, holes compared with zeros.
 */
export class BlockCheck {
  private readonly digest: (i: number) => string | undefined;
  private hash = createHash('sha256');
  private inBlock = 0;
  private block: number;
  private holeClean = true;

  /**
   * `digest`: the list's blockDigests(), when a caller checks many ranges of one list: making it
   * walks every run, which once per range made a check of 40 000 ranges take 15 s.
   */
  constructor(private readonly list: BlockList, private readonly imageSize: Bytes, start: Bytes, private readonly onMismatch: (m: BlockMismatch) => never, digest = blockDigests(list)) {
    if (start % list.size !== 0) throw new RangeError(`a block check starts on a block boundary, not at byte ${start}`);
    this.digest = digest;
    this.block = start / list.size;
  }

  update(data: Uint8Array): void {
    let at = 0;
    while (at < data.length) {
      const want = this.blockLength(this.block) - this.inBlock;
      const piece = data.subarray(at, at + Math.min(want, data.length - at));
      if (this.digest(this.block) === undefined) {
        if (this.holeClean && !isZero(piece)) this.holeClean = false;
      } else this.hash.update(piece);
      this.inBlock += piece.length;
      at += piece.length;
      if (this.inBlock === this.blockLength(this.block)) this.close();
    }
  }

  /**
   * Feeds `length` zero bytes without them being read: a hole of the file, which reads as zeros by
   * definition. Hole blocks pass as they are; a data block's digest takes the zeros in.
   */
  zeros(length: Bytes): void {
    let left = length;
    while (left > 0) {
      const n = Math.min(this.blockLength(this.block) - this.inBlock, left);
      if (this.digest(this.block) !== undefined) hashZeros(this.hash, n);
      this.inBlock += n;
      left -= n;
      if (this.inBlock === this.blockLength(this.block)) this.close();
    }
  }

  /** Checks that the bytes ended on a block boundary or at the image's end. */
  end(): void {
    if (this.inBlock !== 0) throw new RangeError(`a block check ended inside block ${this.block}`);
  }

  private blockLength(i: number): Bytes {
    return Math.min(this.list.size, this.imageSize - i * this.list.size);
  }

  private close(): void {
    const expected = this.digest(this.block);
    const offset = this.block * this.list.size, length = this.blockLength(this.block);
    if (expected === undefined) {
      if (!this.holeClean) this.onMismatch({ block: this.block, offset, length, hole: true, seen: 'data', expected: 'zeros' });
    } else {
      const seen = this.hash.digest('hex');
      if (seen !== expected) this.onMismatch({ block: this.block, offset, length, hole: false, seen, expected });
      this.hash = createHash('sha256');
    }
    this.block++;
    this.inBlock = 0;
    this.holeClean = true;
  }
}
