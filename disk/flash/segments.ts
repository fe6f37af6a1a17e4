// The image's data, in order, as the writer wants it: chunks of at most CHUNK bytes, each at a
// 4 KiB-aligned place in an aligned buffer. With a .bmap only its ranges are read (a raw file
// then reads nothing else; a stream decompresses and discards the rest). Without one, every block is read and all-zero 4 KiB blocks are left
// out; every block is then held against the manifest when there is one (format 2: each data
// block's sha256, holes as zeros; format 1: the whole image's sha256).

import { createHash } from 'node:crypto';
import type { Bytes } from '../../partitions/units.js';
import { rangeBytes } from '../../builder/outputs/bmap.js';
import { BlockCheck } from '../../builder/image/blocks.js';
import { alignedBuffer } from './direct-io.js';
import { FlashFailure } from './errors.js';
import type { ImageSource } from './image.js';
import type { ImageReader } from './reader.js';

export const CHUNK: Bytes = 4 * 1024 * 1024;
const BLOCK: Bytes = 4096;

export interface Segment { offset: Bytes; data: Buffer }

/** Bytes the segment walk reads, for progress. */
export function segmentTotal(source: ImageSource): Bytes {
  const b = source.bmap?.map;
  return b ? b.ranges.reduce((n, r) => n + rangeBytes(b, r).length, 0) : source.size;
}

/**
 * Each segment's buffer is reused once the next one is asked for. `done` reports bytes read.
 * `checkBmap`: hold each range against the map now (when nothing is verified afterwards;
 * verify otherwise checks the device itself against the map).
 */
export async function* segments(source: ImageSource, reader: ImageReader, checkBmap: boolean, done: (bytes: Bytes) => void): AsyncGenerator<Segment> {
  const buf = alignedBuffer(CHUNK);
  let read = 0;
  const b = source.bmap;
  if (b) {
    // Two buffers: the next chunk is read while the writer writes this one.
    const bufs = [buf, alignedBuffer(CHUNK)];
    for (const r of b.map.ranges) {
      const { offset, length } = rangeBytes(b.map, r);
      const h = checkBmap ? createHash('sha256') : undefined;
      const fetch = (at: Bytes, i: number) => {
        const data = bufs[i % 2]!.subarray(0, Math.min(CHUNK, length - at));
        const p = reader.read(offset + at, data).then(() => data);
        p.catch(() => undefined); // awaited below; a writer that stops early must not leave it unhandled
        return p;
      };
      let next = fetch(0, 0);
      for (let at = 0, i = 0; at < length; at += CHUNK, i++) {
        const data = await next;
        if (at + CHUNK < length) next = fetch(at + CHUNK, i + 1);
        h?.update(data);
        yield { offset: offset + at, data };
        done((read += data.length));
      }
      const seen = h?.digest('hex');
      if (seen !== undefined && seen !== r.sha256) {
        throw new FlashFailure(`${source.path} does not match ${b.path}: blocks ${r.first}-${r.last} (bytes ${offset}..${offset + length - 1}) hash to ${seen}, the map says ${r.sha256}`);
      }
    }
    return;
  }
  const m = source.manifest;
  const blocks = m?.blocks && new BlockCheck(m.blocks, source.size, 0, (x) => {
    throw new FlashFailure(`${source.path} does not match ${m.path}: block ${x.block} (bytes ${x.offset}..${x.offset + x.length - 1}) ${x.hole ? 'holds data where the manifest declares a hole' : `hashes to ${x.seen}, the manifest says ${x.expected}`}`);
  });
  const whole = m && !blocks ? createHash('sha256') : undefined;
  const zero = Buffer.alloc(CHUNK);
  for (let at = 0; at < source.size; at += CHUNK) {
    const chunk = buf.subarray(0, Math.min(CHUNK, source.size - at));
    await reader.read(at, chunk);
    whole?.update(chunk);
    blocks?.update(chunk);
    // Most of an image is holes: one comparison settles a whole chunk of them.
    if (chunk.equals(zero.subarray(0, chunk.length))) { done((read += chunk.length)); continue; }
    // Runs of blocks that are not all zeros.
    let runStart = -1;
    for (let i = 0; i < chunk.length + BLOCK; i += BLOCK) {
      const isData = i < chunk.length && !chunk.subarray(i, i + BLOCK).equals(zero.subarray(0, Math.min(BLOCK, chunk.length - i)));
      if (isData && runStart < 0) runStart = i;
      if (!isData && runStart >= 0) {
        yield { offset: at + runStart, data: chunk.subarray(runStart, Math.min(i, chunk.length)) };
        runStart = -1;
      }
    }
    done((read += chunk.length));
  }
  blocks?.end();
  if (whole && m) {
    const seen = whole.digest('hex');
    if (seen !== m.sha256) throw new FlashFailure(`${source.path} does not match ${m.path}: the image hashes to ${seen}, the manifest says ${m.sha256}`);
  }
}
