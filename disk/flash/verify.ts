// Reads back everything a flash wrote, with O_DIRECT so the answer comes from the device and
// not from the page cache, and holds it against the image: the data byte for byte against the
// file, read again, when flash.ts chose to (a raw image checked against its sidecars before
// writing; flash.ts then also checks that the file is unchanged since it was opened); otherwise
// against hashes: each .bmap range that landed unchanged against the map's sha256, other data
// against the sha256 of what was written (itself checked against the manifest when there is no
// map). Cleared blocks as zeros, the rewritten head and tail byte for byte. A mismatch names the
// first differing byte.

import { createHash } from 'node:crypto';
import type { Bytes } from '../../partitions/units.js';
import type { DirectReader } from './direct-io.js';
import { FlashFailure, FlashInterrupted } from './errors.js';
import { assertUnchanged, type ImageSource } from './image.js';
import type { FlashPlan } from './plan.js';
import type { FlashProgress } from './progress.js';
import type { ImageReader } from './reader.js';
import { CHUNK, type ChunkBuffers } from './segments.js';
import { EventLoopTurns } from '../../support/event-loop-turns.js';
import type { Expect, WriteRecord } from './writer.js';
import { isZero } from '../../builder/image/blocks.js';
import { alignedZeros } from './zeros.js';

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
 * `buffers`: aligned buffers of CHUNK bytes, the device is read into `data` and the image into
 * `scratch`. `image`: the reader the write used, for the 'image' items (a raw file's, which reads anywhere).
 */
export async function verifyDevice(plan: FlashPlan, rec: WriteRecord, source: ImageSource, image: ImageReader, direct: DirectReader, buffers: ChunkBuffers, progress: FlashProgress, signal?: AbortSignal): Promise<Bytes> {
  const buf = buffers.data;
  const items = [...rec.expect].sort((a, b) => a.offset - b.offset);
  const total = items.reduce((n, i) => n + i.length, 0);
  const turns = new EventLoopTurns();
  let done = 0;
  progress.phase('verifying', total);
  for (const item of items) {
    const hash = item.kind === 'data' || item.kind === 'range' ? createHash('sha256') : undefined;
    for (let at = 0; at < item.length; at += CHUNK) {
      if (signal?.aborted) throw new FlashInterrupted('verifying');
      const seen = buf.subarray(0, Math.min(CHUNK, item.length - at));
      direct.read(item.offset + at, seen);
      if (item.kind === 'image') await compareWithImage(plan, source, image, direct.path, item.offset + at, seen, buffers.scratch);
      else if (item.kind === 'bytes' || (item.kind === 'zeros' && !isZero(seen))) {
        const expected = item.kind === 'bytes' ? item.bytes.subarray(at, at + seen.length) : alignedZeros(seen.length);
        const diff = firstDifference(seen, expected);
        if (diff >= 0) throw mismatch(plan, direct.path, item.offset + at + diff, seen[diff]!, expected[diff]!, item.kind);
      }
      hash?.update(seen);
      progress.update((done += seen.length));
      await turns.after();
    }
    if (hash && (item.kind === 'data' || item.kind === 'range') && hash.digest('hex') !== item.sha256) await locate(plan, item, source, direct, buf);
  }
  return total;
}

/** `seen`, read from the device at `offset`, against the image's bytes there (read into `scratch`). */
async function compareWithImage(plan: FlashPlan, source: ImageSource, image: ImageReader, device: string, offset: Bytes, seen: Buffer, scratch: Buffer): Promise<void> {
  const want = scratch.subarray(0, seen.length);
  await image.read(offset, want);
  if (seen.equals(want)) return;
  // A device that differs from a file written since it was checked says nothing about the device.
  assertUnchanged(source);
  const diff = firstDifference(seen, want);
  throw mismatch(plan, device, offset + diff, seen[diff]!, want[diff]!, 'image');
}

/** A hash did not match: find the first byte where the device and the image differ, and say so. */
async function locate(plan: FlashPlan, item: Expect, source: ImageSource, direct: DirectReader, buf: Buffer): Promise<never> {
  const r = await source.openReader();
  const image = Buffer.alloc(CHUNK);
  try {
    for (let at = 0; at < item.length; at += CHUNK) {
      const seen = buf.subarray(0, Math.min(CHUNK, item.length - at));
      direct.read(item.offset + at, seen);
      const want = image.subarray(0, seen.length);
      await r.read(item.offset + at, want);
      const diff = firstDifference(seen, want);
      if (diff >= 0) throw mismatch(plan, direct.path, item.offset + at + diff, seen[diff]!, want[diff]!, item.kind);
    }
  } finally {
    await r.close();
  }
  if (item.kind === 'range') throw new FlashFailure(`${source.path} does not match ${source.bmap!.path}: blocks ${item.blocks} (bytes ${item.offset}..${item.offset + item.length - 1}) hash differently from what the map says, on the device and in the image alike. The device is not usable; rebuild the image and its map`);
  throw new FlashFailure(`verify failed: ${direct.path} bytes ${item.offset}..${item.offset + item.length - 1} differ from what was written there, yet match ${source.path} now: did the image change during the flash?`);
}

function mismatch(plan: FlashPlan, device: string, at: Bytes, seen: number, want: number, kind: Expect['kind']): FlashFailure {
  const p = plan.partitions.find((q) => at >= q.start && at < q.end);
  const where = p ? `partition ${p.number} (${p.name}) + ${at - p.start}` : at < plan.headEnd ? 'the partition table area' : 'outside the partitions';
  const hex = (v: number) => `0x${v.toString(16).padStart(2, '0')}`;
  const what = kind === 'zeros' ? 'a cleared block must read 0x00' : `the image has ${hex(want)}`;
  return new FlashFailure(`verify failed: ${device} byte ${at} (${where}) reads ${hex(seen)}, ${what}. The device is not usable; flash it again, and if that fails too, the stick is failing`);
}
