// Holds the image against its manifest (or, without one, its .bmap) before anything is written.
// An image changed after its build (`run` without --snapshot, `upgrade`, `config set`) no longer
// matches the sidecars the build wrote beside it; found while writing, that would leave a stick
// written and unusable. The manifest covers every byte (format 2: a sha256 per data block, holes
// declared; format 1: one sha256). Format 2 on a raw file: its data blocks are read and hashed,
// and of its holes only what the filesystem says holds data (file-extents.ts; a hole of the file
// reads as zeros by definition). Otherwise the whole image is read (holes included; a compressed
// image is decompressed once more); with only a .bmap, its ranges are. Beside a manifest, a
// .bmap must not leave out any byte that is not zero (OutsideMap): verify of a raw image compares
// with the file instead of the map's hashes (flash.ts). A compressed image is checked again while
// written, and its read-back against hashes (segments.ts, verify.ts).

import { createHash } from 'node:crypto';
import type { Bytes } from '../../partitions/units.js';
import { rangeBytes } from '../../builder/outputs/bmap.js';
import { BlockCheck, blockMismatchText, isZero, type BlockList, type BlockMismatch } from '../../builder/image/blocks.js';
import type { Extent } from '../file-extents.js';
import { FlashFailure, FlashInterrupted } from './errors.js';
import type { ImageSource } from './image.js';
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

/**
 * Walks an image forward and throws at the first byte that is not zero outside every range of
 * `bmap`: flash writes only the ranges, so such a byte would never reach the device (a map of
 * another build of the same size). Chunks must come in increasing offset order.
 */
class OutsideMap {
  private readonly spans: { start: Bytes; end: Bytes }[];
  private k = 0;

  constructor(private readonly bmap: NonNullable<ImageSource['bmap']>, private readonly image: string, private readonly device: string) {
    this.spans = bmap.map.ranges.map((r) => { const { offset, length } = rangeBytes(bmap.map, r); return { start: offset, end: offset + length }; });
  }

  check(at: Bytes, chunk: Buffer): void {
    const end = at + chunk.length;
    while (this.k < this.spans.length && this.spans[this.k]!.end <= at) this.k++;
    let from = at;
    for (let k = this.k; from < end; k++) {
      const next = k < this.spans.length ? Math.min(end, Math.max(from, this.spans[k]!.start)) : end;
      if (next > from && !isZero(chunk, from - at, next - at)) {
        let b = from - at;
        while (chunk[b] === 0) b++;
        throw new FlashFailure(`${this.image} holds data at byte ${at + b}, outside every range of ${this.bmap.path}, which flash would not write (a map of another build?); nothing was written to ${this.device}; make the map again (bankforge build --format bmap) or remove it`);
      }
      if (k >= this.spans.length) break;
      from = Math.max(from, this.spans[k]!.end);
    }
  }
}

/** `buf`: CHUNK bytes to read into; flash hands in the buffer it writes from, so that its pages are touched once. */
export async function checkSidecars(source: ImageSource, device: string, progress: FlashProgress, signal?: AbortSignal, buf: Buffer = Buffer.allocUnsafe(CHUNK)): Promise<void> {
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
      const outside = source.bmap ? new OutsideMap(source.bmap, source.path, device) : undefined;
      const extents = m.blocks && source.compression === 'none' ? await source.extents : undefined;
      if (m.blocks && extents) {
        const ranges = blocksToRead(m.blocks, source.size, extents);
        progress.phase(`checking against ${m.path}`, ranges.reduce((n, r) => n + r.end - r.start, 0));
        let done = 0;
        for (const r of ranges) {
          const blocks = new BlockCheck(m.blocks, source.size, r.start, differs);
          for (let at = r.start; at < r.end; at += CHUNK) {
            const chunk = buf.subarray(0, Math.min(CHUNK, r.end - at));
            await check();
            await reader.read(at, chunk);
            blocks.update(chunk);
            outside?.check(at, chunk);
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
        outside?.check(at, chunk);
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
