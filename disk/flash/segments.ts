// The image's data, in order, as the writer wants it: chunks of at most CHUNK bytes, each at a
// 4 KiB-aligned place in an aligned buffer. With a .bmap only its ranges are read (a raw file
// then reads nothing else; a stream decompresses and discards the rest). Without one, a raw
// file's data extents are read (its holes are zeros) and a stream is read whole; all-zero 4 KiB
// blocks are left out. When asked to (a compressed image, or --no-verify: flash.ts), every block
// is then held against the manifest when there is one (format 2: each data block's sha256, holes
// as zeros; format 1: the whole image's sha256).

import { createHash } from 'node:crypto';
import type { Bytes } from '../../partitions/units.js';
import { rangeBytes } from '../../builder/outputs/bmap.js';
import { BlockCheck, blockMismatchText, type BlockList } from '../../builder/image/blocks.js';
import { hashZeros } from '../../support/zero-bytes.cjs';
import { alignedBuffer } from './direct-io.cjs';
import { FlashFailure, FlashInterrupted } from './errors.js';
import { mergeSpans } from './spans.js';
import type { Span } from './plan.js';
import { assertUnchanged, type ImageSource } from './image.js';
import type { ImageReader } from './reader.js';
import { EventLoopTurns } from '../../support/event-loop-turns.js';
import { alignedZeros, nonZeroRuns } from './zeros.js';
import { BankforgeError } from '../../support/errors.js';
import { CHUNK_MAX } from './block-pass.cjs';

/** What flash reads and writes at once (1 MiB), also the chunk of the passes two threads share. */
export const CHUNK: Bytes = CHUNK_MAX;
/** A hole of the file is taken this much at a time (segments). */
const HOLE_STEP: Bytes = 256 * 1024 * 1024;

export interface Segment { offset: Bytes; data: Buffer }

/**
 * The CHUNK-sized aligned buffers one flash reads and writes through, made once: fresh memory
 * costs a page fault per 4 KiB on first use here, ~20 ms per 4 MiB. While writing all three take
 * turns holding the image's data and the device's old data to clear (writer.ts' WriteBehind,
 * which tells them apart by their memory: three buffers, never two views of one); the check reads
 * the image into `data`, the read-back the device into `data` and the image into `scratch`.
 */
export interface ChunkBuffers { data: Buffer; scratch: Buffer; third: Buffer }

export function chunkBuffers(): ChunkBuffers {
  return alignedMemory(() => {
    // The writer's zeros too (zeros.ts keeps them): every aligned buffer is made before the device is opened.
    alignedZeros(CHUNK);
    return { data: alignedBuffer(CHUNK), scratch: alignedBuffer(CHUNK), third: alignedBuffer(CHUNK) };
  });
}

/**
 * `make()`, which makes aligned buffers (alignedBuffer), with V8 failing to make one refused as
 * the environment's limit: a WebAssembly memory reserves several GiB of address space (its guard
 * regions, not memory used), which a `ulimit -v` of a few to some tens of GiB does not leave, and
 * `--jitless` has no WebAssembly; both were an "internal error", or a write failure claimed
 * before anything was written. Flash makes every such buffer before it opens the device.
 */
export function alignedMemory<T>(make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (typeof WebAssembly !== 'object') throw new BankforgeError('flash reads and writes the device with O_DIRECT through page-aligned buffers, which it makes as WebAssembly memory, and WebAssembly is turned off here (NODE_OPTIONS=--jitless?); nothing was written');
    if (!(e instanceof RangeError)) throw e;
    throw new BankforgeError(`flash reads and writes the device with O_DIRECT through page-aligned buffers, which it makes as WebAssembly memory, and V8 could not make one (${e.message}): each reserves several GiB of address space, so a limit on it (ulimit -v) stops flash; nothing was written`);
  }
}

/** Bytes the segment walk goes through (reads, or skips as holes), for progress. */
export function segmentTotal(source: ImageSource): Bytes {
  const b = source.bmap?.map;
  return b ? b.ranges.reduce((n, r) => n + rangeBytes(b, r).length, 0) : source.size;
}

/** The byte ranges of a block list's data blocks. */
function dataBlockSpans(list: BlockList, imageSize: Bytes): Span[] {
  return list.runs.filter((r) => r.sha256).map((r) => ({ start: r.first * list.size, end: Math.min(imageSize, (r.first + r.count) * list.size) }));
}

/**
 * Each chunk is read into the buffer `buffer()` gives (CHUNK bytes, from alignedBuffer), asked
 * for and awaited before each read: a writer that still writes from a buffer does not hand that
 * one out. Segments are views of it, valid until the next one is asked for. `done` reports
 * bytes read or skipped as holes. `signal`: an abort is seen between skipped holes too (the
 * caller checks it between segments).
 * `checkBmap`: hold each range against the map now (when nothing is verified afterwards;
 * verify otherwise checks the device itself against the map). `checkManifest`: without a map,
 * hold what is read against the manifest again; not needed when verify compares the device with
 * the raw file, checked before writing and unchanged since (flash.ts).
 */
export async function* segments(source: ImageSource, reader: ImageReader, checks: { checkBmap: boolean; checkManifest: boolean }, buffer: () => Promise<Buffer>, done: (bytes: Bytes) => void, signal?: AbortSignal): AsyncGenerator<Segment> {
  let read = 0;
  const turns = new EventLoopTurns();
  const b = source.bmap;
  if (b) {
    for (const r of b.map.ranges) {
      const { offset, length } = rangeBytes(b.map, r);
      const h = checks.checkBmap ? createHash('sha256') : undefined;
      for (let at = 0; at < length; at += CHUNK) {
        const data = (await buffer()).subarray(0, Math.min(CHUNK, length - at));
        await reader.read(offset + at, data);
        h?.update(data);
        yield { offset: offset + at, data };
        done((read += data.length));
        await turns.after();
      }
      const seen = h?.digest('hex');
      if (seen !== undefined && seen !== r.sha256) {
        throw new FlashFailure(`${source.path} does not match ${b.path}: blocks ${r.first}-${r.last} (bytes ${offset}..${offset + length - 1}) hash to ${seen}, the map says ${r.sha256}`);
      }
    }
    return;
  }
  const m = checks.checkManifest ? source.manifest : undefined;
  const blocks = m?.blocks && new BlockCheck(m.blocks, source.size, 0, (x) => {
    throw new FlashFailure(`${source.path} does not match ${m.path}: ${blockMismatchText(x)}`);
  });
  const whole = m && !blocks ? createHash('sha256') : undefined;
  // A raw file's holes (file-extents.ts) read as zeros: they are skipped, not read (a built image
  // is mostly holes: reading them cost the default image's flash 0.1 s). What is read: every
  // chunk a data extent reaches, and every data block the manifest lists (the manifest, not the
  // filesystem, says where the image's data is). Without the extents (a stream, no answer) every
  // chunk is read.
  const extents = source.compression === 'none' ? await source.extents : undefined;
  const listed = source.manifest?.blocks;
  const toRead = extents && mergeSpans([...extents, ...(listed ? dataBlockSpans(listed, source.size) : [])]);
  let e = 0;
  for (let at = 0; at < source.size;) {
    if (toRead) {
      while (e < toRead.length && toRead[e]!.end <= at) e++;
      const hole = e < toRead.length ? Math.min(source.size, Math.max(at, Math.floor(toRead[e]!.start / CHUNK) * CHUNK)) : source.size;
      // In steps: a format 1 manifest hashes the zeros (a second per ~1.4 GB), and an abort is
      // seen between them.
      const next = Math.min(hole, at + HOLE_STEP);
      if (next > at) {
        if (signal?.aborted) throw new FlashInterrupted('writing');
        if (whole) hashZeros(whole, next - at);
        blocks?.zeros(next - at);
        done((read += next - at));
        at = next;
        await turns.after();
        continue;
      }
    }
    const chunk = (await buffer()).subarray(0, Math.min(CHUNK, source.size - at));
    await reader.read(at, chunk);
    whole?.update(chunk);
    blocks?.update(chunk);
    for (const run of nonZeroRuns(chunk)) yield { offset: at + run.start, data: chunk.subarray(run.start, run.end) };
    done((read += chunk.length));
    at += chunk.length;
    await turns.after();
  }
  // Holes were taken as zeros without a read, from extents asked for when the image was opened:
  // a file written, cut short or replaced since would pass for what it was. Its inode and ctime
  // (which user space cannot set back) say whether anything touched it.
  if (toRead) assertUnchanged(source);
  blocks?.end();
  if (whole && m) {
    const seen = whole.digest('hex');
    if (seen !== m.sha256) throw new FlashFailure(`${source.path} does not match ${m.path}: the image hashes to ${seen}, the manifest says ${m.sha256}`);
  }
}
