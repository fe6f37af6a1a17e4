// Reads back everything a flash wrote, with O_DIRECT so the answer comes from the device and
// not from the page cache, and holds it against the image: the data byte for byte against the
// file, read again, when flash.ts chose to (a raw image checked against its sidecars before
// writing; flash.ts then also checks that the file is unchanged since it was opened); otherwise
// against hashes: each .bmap range that landed unchanged against the map's sha256, other data
// against the sha256 of what was written (itself checked against the manifest when there is no
// map). Cleared blocks as zeros, the rewritten head and tail byte for byte. A mismatch names the
// first differing byte. The file comparison is a pass a worker thread may share (block-pass.cts).

import { createHash } from 'node:crypto';
import type { Bytes } from '../../partitions/units.js';
import type { DirectReader } from './direct-io.cjs';
import { FlashFailure, FlashInterrupted } from './errors.js';
import { assertUnchanged, type ImageSource } from './image.js';
import type { FlashPlan } from './plan.js';
import type { FlashProgress } from './progress.js';
import { CHUNK, type ChunkBuffers } from './segments.js';
import { EventLoopTurns } from '../../support/event-loop-turns.js';
import type { Expect, WriteRecord } from './writer.js';
import { isZero } from '../../support/zero-bytes.cjs';
import { alignedZeros } from './zeros.js';
import { closePassFiles, comparePass, firstDifference, openPassFiles, ROUND_MAX, settle, type ComparePass, type PassFiles } from './block-pass.cjs';
import { runRound, type HelperThread } from './helper-thread.js';

/**
 * The 'image' items' chunks, read back and compared with the image file in rounds that the main
 * thread and `helper` share (block-pass.cts), handed out in order: a round is run when its first
 * chunk is asked for.
 */
class ImageReadBack {
  private readonly chunks: Generator<{ offset: Bytes; length: Bytes }>;
  private pass: ComparePass | undefined;
  private files: PassFiles | undefined;
  private next = 0;
  private inRound = 0;

  constructor(items: readonly Expect[], private readonly image: ImageSource, private readonly direct: DirectReader, private readonly buffers: ChunkBuffers, private readonly helper: HelperThread | undefined) {
    this.chunks = (function* () {
      for (const item of items) {
        if (item.kind !== 'image') continue;
        for (let at = 0; at < item.length; at += CHUNK) yield { offset: item.offset + at, length: Math.min(CHUNK, item.length - at) };
      }
    })();
  }

  /**
   * The next chunk's result: where it first differs (-1: nowhere), and the bytes there. A round
   * runs when its first chunk is asked for; `between` hears how many of its bytes are done, about.
   */
  async result(between: (bytes: Bytes) => Promise<void>): Promise<{ diff: number; seen: number; want: number; retried: boolean }> {
    if (this.next === this.inRound) await this.round(between);
    const k = this.next++;
    const pass = this.pass!;
    // A chunk whose read failed, or that a stopped worker left, is done again here: a failure is thrown in order.
    const retried = this.unlessChanged(() => settle(pass, k, this.files!));
    return { diff: pass.diff[k]!, seen: pass.seen[k]!, want: pass.want[k]!, retried };
  }

  private async round(between: (bytes: Bytes) => Promise<void>): Promise<void> {
    this.pass ??= comparePass(this.image.path, this.direct.path, this.direct.blockSize, ROUND_MAX);
    const pass = this.pass;
    // The device into the aligned buffer, as the rest of the read-back reads it.
    this.files ??= this.unlessChanged(() => openPassFiles(pass, { buf: this.buffers.scratch, aligned: this.buffers.data }));
    let n = 0, bytes = 0;
    for (; n < ROUND_MAX; n++) {
      const c = this.chunks.next();
      if (c.done) break;
      pass.offsets[n] = c.value.offset;
      pass.lengths[n] = c.value.length;
      bytes += c.value.length;
    }
    await runRound(pass, n, this.helper, this.files, (finished) => between(Math.floor((bytes * finished) / n)));
    this.next = 0;
    this.inRound = n;
  }

  /** `f`, unless the image file changed since it was opened: a failure to read it then says that. */
  private unlessChanged<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      assertUnchanged(this.image);
      throw e;
    }
  }

  close(): void {
    if (this.files) closePassFiles(this.files);
  }
}

/**
 * `buffers`: aligned buffers of CHUNK bytes, the device is read into `data` and the image into
 * `scratch`. `helper`: a worker that takes a share of the 'image' items.
 */
export async function verifyDevice(plan: FlashPlan, rec: WriteRecord, source: ImageSource, direct: DirectReader, buffers: ChunkBuffers, progress: FlashProgress, signal?: AbortSignal, helper?: HelperThread): Promise<Bytes> {
  const buf = buffers.data;
  const items = [...rec.expect].sort((a, b) => a.offset - b.offset);
  const total = items.reduce((n, i) => n + i.length, 0);
  const turns = new EventLoopTurns();
  let done = 0;
  // A round of the shared pass runs ahead of the chunks handed out: the bar does not go back.
  let shown = 0;
  const show = (n: Bytes): void => {
    if (n > shown) progress.update((shown = n));
  };
  const stopped = (): void => {
    if (signal?.aborted) throw new FlashInterrupted('verifying');
  };
  progress.phase('verifying', total);
  const readBack = new ImageReadBack(items, source, direct, buffers, helper);
  try {
    for (const item of items) {
      if (item.kind === 'image') {
        for (let at = 0; at < item.length; at += CHUNK) {
          stopped();
          const before = done;
          const r = await readBack.result(async (bytes) => {
            show(before + bytes);
            await turns.after();
            stopped();
          });
          const length = Math.min(CHUNK, item.length - at);
          if (r.retried) progress.note(`reading back ${direct.path} bytes ${item.offset + at}..${item.offset + at + length - 1} (or the image there) failed once and worked the second time; a device whose reads fail is failing`);
          if (r.diff >= 0) {
            // A device that differs from a file written since it was checked says nothing about the device.
            assertUnchanged(source);
            throw mismatch(plan, direct.path, item.offset + at + r.diff, r.seen, r.want, 'image');
          }
          show((done += length));
        }
        continue;
      }
      const hash = item.kind === 'data' || item.kind === 'range' ? createHash('sha256') : undefined;
      for (let at = 0; at < item.length; at += CHUNK) {
        stopped();
        const seen = buf.subarray(0, Math.min(CHUNK, item.length - at));
        direct.read(item.offset + at, seen);
        if (item.kind === 'bytes' || (item.kind === 'zeros' && !isZero(seen))) {
          const expected = item.kind === 'bytes' ? item.bytes.subarray(at, at + seen.length) : alignedZeros(seen.length);
          const diff = firstDifference(seen, expected);
          if (diff >= 0) throw mismatch(plan, direct.path, item.offset + at + diff, seen[diff]!, expected[diff]!, item.kind);
        }
        hash?.update(seen);
        show((done += seen.length));
        await turns.after();
      }
      if (hash && (item.kind === 'data' || item.kind === 'range') && hash.digest('hex') !== item.sha256) await locate(plan, item, source, direct, buf);
    }
  } finally {
    readBack.close();
  }
  return total;
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
