// Holds the image against its manifest (or, without one, its .bmap) before anything is written.
// An image changed after its build (`run` without --snapshot, `upgrade`, `config set`) no longer
// matches the sidecars the build wrote beside it; found while writing, that would leave a stick
// written and unusable. The manifest covers every byte (format 2: a sha256 per data block, holes
// declared; format 1: one sha256). Format 2 on a raw file: its data blocks are read and hashed,
// and of its holes only what the filesystem says holds data (file-extents.ts; a hole of the file
// reads as zeros by definition). Otherwise the whole image is read (holes included; a compressed
// image is decompressed once more); with only a .bmap, its ranges are. Beside a manifest, a
// .bmap must not leave out any byte that is not zero (outsideMap): verify of a raw image compares
// with the file instead of the map's hashes (flash.ts). A compressed image is checked again while
// written, and its read-back against hashes (segments.ts, verify.ts).

import { createHash } from 'node:crypto';
import type { Bytes } from '../../partitions/units.js';
import { rangeBytes } from '../../builder/outputs/bmap.js';
import { BlockCheck, blockDigests, blockMismatchText, type BlockList, type BlockMismatch } from '../../builder/image/blocks.js';
import { BLOCK_MIN, CHUNK_MAX, checkPass, spanPairs, closePassFiles, DIRTY, firstOutside, ImageReadError, openPassFiles, ROUND_MAX, settle } from './block-pass.cjs';
import { runRound, type HelperThread } from './helper-thread.js';
import type { Extent } from '../file-extents.js';
import { FlashFailure, FlashInterrupted } from './errors.js';
import { assertUnchanged, type ImageSource } from './image.js';
import { BankforgeError, EXIT } from '../../support/errors.js';
import type { FlashProgress } from './progress.js';
import { CHUNK } from './segments.js';
import { EventLoopTurns } from '../../support/event-loop-turns.js';

const unchanged = (device: string): string =>
  `nothing was written to ${device}. Was the image changed after it was built (run without --snapshot, upgrade, config set)? Rebuild it, or flash a copy made before`;

/**
 * The byte ranges (whole blocks, merged, in order) that a check against `list` must read: every
 * data block, and every hole block that overlaps one of the file's data `extents`.
 */
export function blocksToRead(list: BlockList, imageSize: Bytes, extents: readonly Extent[]): Extent[] {
  const out: Extent[] = [];
  const add = (start: Bytes, end: Bytes): void => {
    const last = out.at(-1);
    if (last && last.end >= start) last.end = Math.max(last.end, end);
    else out.push({ start, end });
  };
  const bs = list.size;
  let e = 0;
  for (const r of list.runs) {
    const start = r.first * bs, end = Math.min(imageSize, (r.first + r.count) * bs);
    if (r.sha256) { add(start, end); continue; }
    while (e < extents.length && extents[e]!.end <= start) e++;
    for (let k = e; k < extents.length && extents[k]!.start < end; k++) {
      const from = Math.max(start, extents[k]!.start), to = Math.min(end, extents[k]!.end);
      add(Math.floor(from / bs) * bs, Math.min(end, Math.ceil(to / bs) * bs));
    }
  }
  return out;
}

/** A .bmap's ranges as block-pass.cts' span pairs, for firstOutside (a map with no ranges gives none: every byte is outside). */
function bmapSpans(bmap: NonNullable<ImageSource['bmap']>): Float64Array {
  return spanPairs(bmap.map.ranges.map((r) => { const { offset, length } = rangeBytes(bmap.map, r); return { start: offset, end: offset + length }; }));
}

/**
 * Byte `at` of the image is not zero and lies outside every range of its .bmap: flash writes only
 * the ranges, so it would never reach the device (a map of another build of the same size).
 */
function outsideMap(source: ImageSource, device: string, at: Bytes): FlashFailure {
  const b = source.bmap!;
  return new FlashFailure(`${source.path} holds data at byte ${at}, outside every range of ${b.path}, which flash would not write (a map of another build?); nothing was written to ${device}; make the map again (bankforge build --format bmap) or remove it`);
}

/**
 * `buf`: CHUNK bytes to read into; flash hands in the buffer it writes from, so that its pages are
 * touched once. `helper`: a worker that takes a share of a format 2 manifest's blocks.
 */
export async function checkSidecars(source: ImageSource, device: string, progress: FlashProgress, signal?: AbortSignal, buf: Buffer = Buffer.allocUnsafe(CHUNK), helper?: HelperThread): Promise<void> {
  if (!source.manifest && !source.bmap) return;
  const reader = await source.openReader();
  const turns = new EventLoopTurns();
  const check = async (): Promise<void> => {
    await turns.after();
    if (signal?.aborted) throw new FlashInterrupted('checking');
  };
  try {
    const m = source.manifest;
    if (m) {
      // Format 2: each data block against its sha256 and every hole as zeros; format 1: the whole image.
      const differs = (x: BlockMismatch): never => {
        throw new FlashFailure(`${source.path} does not match ${m.path}: ${blockMismatchText(x)}; ${unchanged(device)}`);
      };
      // Every byte that is not zero is read below (a hole of the file reads as zeros), so this
      // also finds data a .bmap beside the image leaves out; flash.ts relies on it.
      const outside = source.bmap ? bmapSpans(source.bmap) : undefined;
      const extents = m.blocks && source.compression === 'none' ? await source.extents : undefined;
      if (m.blocks && extents) {
        const ranges = blocksToRead(m.blocks, source.size, extents);
        progress.phase(`checking against ${m.path}`, ranges.reduce((n, r) => n + r.end - r.start, 0));
        const outsideAt = (at: Bytes): never => { throw outsideMap(source, device, at); };
        // A block a thread reads at once, and a block worth a read of its own: what the pass takes (ours are 256 KiB, 1 MiB before 2026-12-01).
        if (m.blocks.size >= BLOCK_MIN && m.blocks.size <= CHUNK_MAX) {
          await checkBlocks(source, m.blocks, ranges, outside, { device, buf, helper, progress, check, differs, outside: outsideAt });
          return;
        }
        const digest = blockDigests(m.blocks);
        let done = 0;
        for (const r of ranges) {
          const blocks = new BlockCheck(m.blocks, source.size, r.start, differs, digest);
          for (let at = r.start; at < r.end; at += CHUNK) {
            const chunk = buf.subarray(0, Math.min(CHUNK, r.end - at));
            await check();
            await reader.read(at, chunk);
            blocks.update(chunk);
            const stray = outside ? firstOutside(outside, at, chunk) : -1;
            if (stray >= 0) outsideAt(stray);
            progress.update((done += chunk.length));
          }
          blocks.end();
        }
        return;
      }
      const blocks = m.blocks && new BlockCheck(m.blocks, source.size, 0, differs);
      const whole = blocks ? undefined : createHash('sha256');
      progress.phase(`checking against ${m.path}`, source.size);
      for (let at = 0; at < source.size; at += CHUNK) {
        const chunk = buf.subarray(0, Math.min(CHUNK, source.size - at));
        await check();
        await reader.read(at, chunk);
        blocks?.update(chunk);
        whole?.update(chunk);
        const stray = outside ? firstOutside(outside, at, chunk) : -1;
        if (stray >= 0) throw outsideMap(source, device, stray);
        progress.update(at + chunk.length);
      }
      blocks?.end();
      const seen = whole?.digest('hex');
      if (seen !== undefined && seen !== m.sha256) {
        throw new FlashFailure(`${source.path} does not match ${m.path}: the image hashes to ${seen}, the manifest says ${m.sha256}; ${unchanged(device)}`);
      }
      return;
    }
    const b = source.bmap!;
    const total = b.map.ranges.reduce((n, r) => n + rangeBytes(b.map, r).length, 0);
    progress.phase(`checking against ${b.path}`, total);
    let done = 0;
    for (const r of b.map.ranges) {
      const { offset, length } = rangeBytes(b.map, r);
      const h = createHash('sha256');
      for (let at = 0; at < length; at += CHUNK) {
        const chunk = buf.subarray(0, Math.min(CHUNK, length - at));
        await check();
        await reader.read(offset + at, chunk);
        h.update(chunk);
        progress.update((done += chunk.length));
      }
      const seen = h.digest('hex');
      if (seen !== r.sha256) {
        throw new FlashFailure(`${source.path} does not match ${b.path}: blocks ${r.first}-${r.last} (bytes ${offset}..${offset + length - 1}) hash to ${seen}, the map says ${r.sha256}; ${unchanged(device)}`);
      }
    }
  } finally {
    await reader.close();
  }
}

interface PassHooks {
  /** The device, for the messages: nothing is written to it while its image is checked. */
  device: string;
  buf: Buffer;
  helper: HelperThread | undefined;
  progress: FlashProgress;
  /** Between blocks: gives the event loop its turn and throws when the flash was stopped. */
  check: () => Promise<void>;
  differs: (x: BlockMismatch) => never;
  outside: (at: Bytes) => never;
}

/**
 * The blocks of `ranges` (whole blocks, from blocksToRead) against `list`: data blocks by their
 * sha256, hole blocks as zeros, and every byte outside `spans` (a .bmap's, as spanPairs) as
 * zeros when there is a map. In rounds of up to ROUND_MAX blocks that the main thread and `helper` share
 * (block-pass.cts); each round's results are judged in block order, so the first mismatch is the
 * one a pass in order would have met.
 */
async function checkBlocks(source: ImageSource, list: BlockList, ranges: readonly Extent[], spans: Float64Array | undefined, hooks: PassHooks): Promise<void> {
  const bs = list.size;
  const digest = blockDigests(list);
  const rounds = blockRounds(ranges, bs);
  const pass = checkPass(source.path, source.size, bs, Math.min(ROUND_MAX, rounds.total), spans);
  const files = openPassFiles(pass, { buf: hooks.buf });
  let before = 0;
  try {
    for (const round of rounds.each()) {
      round.forEach((b, k) => {
        pass.blocks[k] = b;
        pass.data[k] = digest(b) === undefined ? 0 : 1;
      });
      const bytes = round.reduce((n, b) => n + Math.min(bs, source.size - b * bs), 0);
      await runRound(pass, round.length, hooks.helper, files, async (finished) => {
        hooks.progress.update(before + Math.min(bytes, finished * bs));
        await hooks.check();
      });
      for (let k = 0; k < round.length; k++) {
        const block = round[k]!, offset = block * bs, length = Math.min(bs, source.size - offset);
        if (settleImageRead(source, hooks.device, () => settle(pass, k, files))) {
          hooks.progress.note(`reading ${source.path} bytes ${offset}..${offset + length - 1} failed once and worked the second time`);
        }
        const expected = digest(block);
        if (expected !== undefined) {
          const seen = Buffer.from(pass.digests.buffer, k * 32, 32).toString('hex');
          if (seen !== expected) hooks.differs({ block, offset, length, hole: false, seen, expected });
        } else if (pass.state[k] === DIRTY) hooks.differs({ block, offset, length, hole: true, seen: 'data', expected: 'zeros' });
        if (pass.outside[k]! >= 0) hooks.outside(pass.outside[k]!);
      }
      hooks.progress.update((before += bytes));
    }
  } finally {
    closePassFiles(files);
  }
}

/**
 * Runs `read` (an item's settle()) and returns what it returns, turning a failed read of the image
 * into bad input: an image that changed since it was opened is said to have changed
 * (assertUnchanged); otherwise the read's error names the file and the byte. Anything else is
 * thrown as it is.
 */
export function settleImageRead<T>(source: ImageSource, device: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (!(e instanceof ImageReadError)) throw e;
    assertUnchanged(source);
    throw new BankforgeError(`${e.message}; nothing was written to ${device}`, EXIT.input, { file: source.path });
  }
}

/** The block numbers of `ranges` (block-aligned), in rounds of up to ROUND_MAX. */
function blockRounds(ranges: readonly Extent[], bs: Bytes): { total: number; each(): Generator<number[]> } {
  const total = ranges.reduce((n, r) => n + Math.ceil(r.end / bs) - r.start / bs, 0);
  return {
    total,
    *each() {
      let round: number[] = [];
      for (const r of ranges) {
        for (let b = r.start / bs; b < Math.ceil(r.end / bs); b++) {
          round.push(b);
          if (round.length === ROUND_MAX) { yield round; round = []; }
        }
      }
      if (round.length) yield round;
    },
  };
}
