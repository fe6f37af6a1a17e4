// A pass over an image that two threads share: flash's check against the manifest (sidecars.ts:
// each data block read and hashed, each hole block read as zeros) and its read-back (verify.ts:
// the device read with O_DIRECT and compared with the image). On the ~200 MiB bench image the
// check is ~230 ms of sha256 and the read-back ~110 ms of reads and compares on one core; the
// machines have two. Everything a pass needs and finds lives in SharedArrayBuffers: its items, a
// counter each thread takes the next item from, and per item what was found. So while items are
// left neither thread waits for the other, and the worker (block-pass-thread.cts), which takes
// ~35 ms to start, joins whenever it is ready. A read that fails is a result too (FAILED). The
// main thread judges the results afterwards, item by item in order, doing again itself any item
// that failed or was left, so the error named is the one a pass by one thread meets first.
// CommonJS (.cts), with only Node's own modules and other .cts files: the worker runs it without
// loading the CLI, and a worker starts from a CommonJS file ~6 ms sooner than from an ES module.

import { createHash } from 'node:crypto';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { isZero } from '../../support/zero-bytes.cjs';
import { readDirect } from './direct-io.cjs';

/** An item's state: not finished yet. */
export const PENDING = 0;
/** A data block whose sha256 is in `digests`; a compared chunk (see `diff`). */
export const DONE = 1;
/** A hole block that reads as zeros. */
export const ZEROS = 2;
/** A hole block that holds a byte that is not zero. */
export const DIRTY = 3;
/** A read failed (the thread that met it does not say why: settle() does the item again, and throws). */
export const FAILED = 4;

/** Items in one round of a pass: its arrays stay under ~0.5 MiB whatever a manifest lists. */
export const ROUND_MAX = 8192;

interface PassBase {
  /** How many of the arrays' items this round of the pass uses. */
  count: number;
  /** [0]: the next item to take; [1]: how many items are finished. */
  counter: Int32Array;
  /** Per item: PENDING until finished, then what was found. */
  state: Int32Array;
}

/** The check of an image file's blocks against a manifest's block list. */
export interface CheckPass extends PassBase {
  kind: 'check';
  /** The image file, its size and the manifest's block size. */
  image: string;
  imageSize: number;
  blockSize: number;
  /** Block numbers, ascending. */
  blocks: Float64Array;
  /** 1 where the block is data (its sha256 is wanted), 0 where it is a hole (zeros wanted). */
  data: Uint8Array;
  /** Per item, 32 bytes: the sha256 of a data block. */
  digests: Uint8Array;
  /** Per item: the image offset of the first byte that is not zero outside every span of `spans`, else -1. */
  outside: Float64Array;
  /** [start, end) byte spans, ascending, as pairs: a .bmap's ranges, outside which the image must be zeros; undefined without a map (an empty map has no ranges: every byte must be zero). */
  spans: Float64Array | undefined;
}

/** The read-back of a device against the image file, chunk by chunk at the same offsets. */
export interface ComparePass extends PassBase {
  kind: 'compare';
  image: string;
  /** The block device, read with O_DIRECT: offsets and lengths are multiples of its logical block. */
  device: string;
  blockSize: number;
  /** Chunks as offset and length; a length is at most CHUNK_MAX. */
  offsets: Float64Array;
  lengths: Float64Array;
  /** Per item: the index in the chunk of the first byte that differs, else -1; and that byte on the device and in the image. */
  diff: Float64Array;
  seen: Uint8Array;
  want: Uint8Array;
}

export type Pass = CheckPass | ComparePass;

/** The most a thread reads at once, and a compare chunk's most: 1 MiB, what flash reads and writes in. */
export const CHUNK_MAX = 1024 * 1024;
/** The smallest block a check pass takes: smaller ones would cost a read each (a manifest of ours has 256 KiB blocks). */
export const BLOCK_MIN = 64 * 1024;

const shared = <T,>(make: (buf: SharedArrayBuffer) => T, bytes: number): T => make(new SharedArrayBuffer(Math.max(8, bytes)));
const base = (capacity: number): PassBase => ({
  count: 0,
  counter: shared((b) => new Int32Array(b), 8),
  state: shared((b) => new Int32Array(b), capacity * 4),
});

/** [start, end) spans as CheckPass' and firstOutside's pairs, in memory a worker shares. */
export function spanPairs(spans: readonly { start: number; end: number }[]): Float64Array {
  const s = shared((b) => new Float64Array(b), spans.length * 16).subarray(0, spans.length * 2);
  spans.forEach((x, i) => { s[2 * i] = x.start; s[2 * i + 1] = x.end; });
  return s;
}

/** A check of up to `capacity` blocks a round; `spans` (from spanPairs) as CheckPass says (undefined: no map). */
export function checkPass(image: string, imageSize: number, blockSize: number, capacity: number, spans: Float64Array | undefined): CheckPass {
  return {
    ...base(capacity), kind: 'check', image, imageSize, blockSize,
    blocks: shared((b) => new Float64Array(b), capacity * 8),
    data: shared((b) => new Uint8Array(b), capacity),
    digests: shared((b) => new Uint8Array(b), capacity * 32),
    outside: shared((b) => new Float64Array(b), capacity * 8),
    spans,
  };
}

/** A read-back of up to `capacity` chunks a round. */
export function comparePass(image: string, device: string, blockSize: number, capacity: number): ComparePass {
  return {
    ...base(capacity), kind: 'compare', image, device, blockSize,
    offsets: shared((b) => new Float64Array(b), capacity * 8),
    lengths: shared((b) => new Float64Array(b), capacity * 8),
    diff: shared((b) => new Float64Array(b), capacity * 8),
    seen: shared((b) => new Uint8Array(b), capacity),
    want: shared((b) => new Uint8Array(b), capacity),
  };
}

/** Starts a round of `count` items: the item arrays must be filled before the pass is shared. */
export function startRound(pass: Pass, count: number): void {
  pass.count = count;
  pass.state.fill(PENDING, 0, count);
  Atomics.store(pass.counter, 0, 0);
  Atomics.store(pass.counter, 1, 0);
}

/** The next item for the calling thread, or -1 when every item is taken. */
export function take(pass: Pass): number {
  const k = Atomics.add(pass.counter, 0, 1);
  return k < pass.count ? k : -1;
}

/** Leaves no item to take: a thread stops after the item it is doing. */
export function stop(pass: Pass): void {
  Atomics.store(pass.counter, 0, pass.count);
}

/** What one thread reads a pass through: its own descriptors and buffers. */
export interface PassFiles {
  image: number;
  /** The device, O_DIRECT; only for a compare pass. */
  device: number | undefined;
  /** Image bytes, and device bytes (page-aligned, as O_DIRECT wants). */
  buf: Buffer;
  aligned: Buffer | undefined;
}

/** `buffers`: CHUNK_MAX bytes each; `aligned` (from alignedBuffer) is what a compare pass reads the device into. */
export function openPassFiles(pass: Pass, buffers: { buf: Buffer; aligned?: Buffer }): PassFiles {
  if (pass.kind === 'compare' && !buffers.aligned) throw new RangeError('a compare pass reads the device into an aligned buffer, and none was given');
  const image = openSync(pass.image, 'r');
  if (pass.kind === 'check') return { image, device: undefined, buf: buffers.buf, aligned: undefined };
  try {
    return { image, device: openSync(pass.device, constants.O_RDONLY | constants.O_DIRECT), buf: buffers.buf, aligned: buffers.aligned };
  } catch (e) {
    closeSync(image);
    throw e;
  }
}

export function closePassFiles(files: PassFiles): void {
  closeSync(files.image);
  if (files.device !== undefined) closeSync(files.device);
}

/** Does item `k` and records what it found; a failed read is recorded as FAILED, not thrown. */
export function doItem(pass: Pass, k: number, files: PassFiles): void {
  let state: number;
  try {
    state = pass.kind === 'check' ? checkItem(pass, k, files) : compareItem(pass, k, files);
  } catch {
    state = FAILED;
  }
  // Last: a thread that sees the state sees the rest.
  Atomics.store(pass.state, k, state);
  Atomics.add(pass.counter, 1, 1);
}

/** Does items until none is left to take; returns how many it did. */
export function doShare(pass: Pass, files: PassFiles): number {
  let n = 0;
  for (let k = take(pass); k >= 0; k = take(pass), n++) doItem(pass, k, files);
  return n;
}

/**
 * Makes item `k` judgeable, once its round has run: an item left (a worker that stopped) or
 * failed is done again here, and a read that fails again is thrown, in the order the caller
 * judges items. True when it did again an item whose read had failed: the second read worked.
 */
export function settle(pass: Pass, k: number, files: PassFiles): boolean {
  const state = Atomics.load(pass.state, k);
  if (state !== PENDING && state !== FAILED) return false;
  Atomics.store(pass.state, k, pass.kind === 'check' ? checkItem(pass, k, files) : compareItem(pass, k, files));
  return state === FAILED;
}

function checkItem(pass: CheckPass, k: number, files: PassFiles): number {
  const start = pass.blocks[k]! * pass.blockSize;
  const end = Math.min(pass.imageSize, start + pass.blockSize);
  const hash = pass.data[k] ? createHash('sha256') : undefined;
  let dirty = false;
  let outside = -1;
  for (let at = start; at < end; at += files.buf.length) {
    const chunk = files.buf.subarray(0, Math.min(files.buf.length, end - at));
    readFull(files.image, pass.image, chunk, at);
    if (hash) hash.update(chunk);
    else if (!dirty && !isZero(chunk)) dirty = true;
    if (outside < 0 && pass.spans) outside = firstOutside(pass.spans, at, chunk);
  }
  if (hash) pass.digests.set(hash.digest(), k * 32);
  pass.outside[k] = outside;
  return hash ? DONE : dirty ? DIRTY : ZEROS;
}

function compareItem(pass: ComparePass, k: number, files: PassFiles): number {
  const at = pass.offsets[k]!, length = pass.lengths[k]!;
  const seen = files.aligned!.subarray(0, length), want = files.buf.subarray(0, length);
  readDirect(files.device!, pass.device, pass.blockSize, seen, at);
  readFull(files.image, pass.image, want, at);
  const d = seen.equals(want) ? -1 : firstDifference(seen, want);
  pass.diff[k] = d;
  if (d >= 0) { pass.seen[k] = seen[d]!; pass.want[k] = want[d]!; }
  return DONE;
}

/** A read of the image file that failed or came up short: its message names the file and the byte. */
export class ImageReadError extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
  }
}

function readFull(fd: number, path: string, into: Buffer, at: number): void {
  for (let got = 0; got < into.length;) {
    let n: number;
    try {
      n = readSync(fd, into, got, into.length - got, at + got);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new ImageReadError(`${path}: reading ${into.length - got} bytes at byte ${at + got} failed: ${code ?? (e as Error).message}`, code);
    }
    if (n === 0) throw new ImageReadError(`${path}: ended at byte ${at + got}, expected ${into.length - got} more bytes (did it change while flashing?)`, undefined);
    got += n;
  }
}

/** Index of the first byte where `a` and `b` differ, or -1. */
export function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 4096) {
    const end = Math.min(i + 4096, n);
    if (a.subarray(i, end).equals(b.subarray(i, end))) continue;
    for (let j = i; j < end; j++) if (a[j] !== b[j]) return j;
  }
  return a.length === b.length ? -1 : n;
}

/**
 * The image offset of the first byte of `chunk` (which starts at image offset `at`) that is not
 * zero and lies outside every span of `spans` (pairs, ascending), or -1.
 */
export function firstOutside(spans: Float64Array, at: number, chunk: Uint8Array): number {
  const end = at + chunk.length;
  const n = spans.length / 2;
  // The first span that ends after `at`, by binary search.
  let lo = 0, hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (spans[2 * mid + 1]! <= at) lo = mid + 1; else hi = mid;
  }
  let from = at;
  for (let i = lo; from < end; i++) {
    const next = i < n ? Math.min(end, Math.max(from, spans[2 * i]!)) : end;
    if (next > from && !isZero(chunk, from - at, next - at)) {
      let b = from - at;
      while (chunk[b] === 0) b++;
      return at + b;
    }
    if (i >= n) break;
    from = Math.max(from, spans[2 * i + 1]!);
  }
  return -1;
}
