// Puts an image on the device: the old partition table cleared first (and synced), then the
// data in offset order with the stale regions (plan.ts) cleared on the way and the device's last
// MiB with the relocated backup GPT (synced), then the head with the primary GPT (synced). Until that last write the device
// holds no partition table, so an interrupted flash leaves a disk nothing boots or mounts.
// Cleared areas are read first (O_DIRECT) and only blocks that are not already zero are
// written, so a clean stick costs reads, not writes. What was written is recorded for verify.
// The device is written O_DIRECT: every write comes from an aligned buffer (alignedBuffer) and
// starts and ends on a sector boundary, as O_DIRECT demands.

import { createHash } from 'node:crypto';
import { fdatasyncSync } from 'node:fs';
import { writeAllAt, writeAllAtAsync } from '../../support/write-all.js';
import type { Bytes } from '../../partitions/units.js';
import type { DirectReader } from './direct-io.cjs';
import { FlashInterrupted } from './errors.js';
import type { ImageSource } from './image.js';
import type { ComposedArea } from './area.js';
import { addStale, relocatedTable, staleFatMetadata, unchangedRanges, type FlashPlan, type Span } from './plan.js';
import type { FlashProgress } from './progress.js';
import type { ImageReader } from './reader.js';
import { CHUNK, segmentTotal, segments, type ChunkBuffers } from './segments.js';
import { EventLoopTurns } from '../../support/event-loop-turns.js';
import { alignedZeros, nonZeroRuns } from './zeros.js';

/**
 * Writes are O_DIRECT either way (flash.ts). 'group': fdatasync, which also flushes the device's
 * write cache, after every SYNC_EVERY bytes; 'dsync': the device opened O_DSYNC as well, every
 * write waits for that flush. bench/flash.ts measures both; 'group' is the default.
 */
export type SyncMode = 'group' | 'dsync';
/**
 * Nothing waits in the page cache (O_DIRECT), so a periodic fdatasync only bounds what the
 * device holds in its own write cache; the order that matters (old table cleared, then data and
 * tail, then head) has an fdatasync of its own. 32 MiB, the figure from buffered writing, cost
 * the ~200 MiB bench image a quarter of its write phase; a multi-GiB image still gets a flush
 * every 256 MiB.
 */
export const SYNC_EVERY: Bytes = 256 * 1024 * 1024;

/** What the device must now hold where this flash wrote. */
export type Expect =
  /** Rewritten head and tail blocks, byte for byte. */
  | { offset: Bytes; length: Bytes; kind: 'bytes'; bytes: Buffer }
  /** Stale blocks that were written over. */
  | { offset: Bytes; length: Bytes; kind: 'zeros' }
  /** Image data, by the sha256 of what was written (at most CHUNK bytes). */
  | { offset: Bytes; length: Bytes; kind: 'data'; sha256: string }
  /** Image data, byte for byte against the raw image file at the same offset (WriteOptions.compare). */
  | { offset: Bytes; length: Bytes; kind: 'image' }
  /** A whole .bmap range, by the map's own sha256. */
  | { offset: Bytes; length: Bytes; kind: 'range'; sha256: string; blocks: string };

export interface WriteRecord {
  expect: Expect[];
  dataBytes: Bytes;
  /** Bytes of old data read to find what to clear, and of those written over with zeros. */
  staleRead: Bytes;
  staleCleared: Bytes;
}

/** The device opened for writing (a descriptor: the image's data is written through the thread pool, the rest with synchronous calls) and for O_DIRECT reads. */
export interface DeviceHandles { path: string; fd: number; direct: DirectReader }

/**
 * `compare`: the image is a raw file that verify will read again, so the data is recorded by
 * where it went, not hashed (flash.ts says when). Otherwise each piece is hashed as it is written,
 * or left to its .bmap range's own sha256.
 */
export interface WriteOptions { sync: SyncMode; checkBmapNow: boolean; compare: boolean; progress: FlashProgress; signal: AbortSignal | undefined; buffers: ChunkBuffers }

export async function writeDevice(plan: FlashPlan, source: ImageSource, reader: ImageReader, dev: DeviceHandles, o: WriteOptions): Promise<WriteRecord> {
  const rec: WriteRecord = { expect: [], dataBytes: 0, staleRead: 0, staleCleared: 0 };
  const zeros = alignedZeros(CHUNK);
  const turns = new EventLoopTurns();
  let unsynced = 0;
  const checkAbort = (): void => { if (o.signal?.aborted) throw new FlashInterrupted('writing'); };
  const behind = new WriteBehind(dev.fd, [o.buffers.data, o.buffers.scratch, o.buffers.third]);
  const written = async (n: Bytes): Promise<void> => {
    unsynced += n;
    if (o.sync === 'group' && unsynced >= SYNC_EVERY) {
      await behind.settle();
      fdatasyncSync(dev.fd);
      unsynced = 0;
    }
  };
  /** Zeros and the head and tail, on this thread; they count towards the next group sync, which the data's writes take. */
  const write = (data: Buffer, at: Bytes): void => {
    writeAllAt(dev.fd, data, at);
    unsynced += data.length;
  };
  /**
   * Reads `span` from the device and writes zeros over every 4 KiB block of it that is not zero;
   * read into a chunk buffer that does not hold `segment` (the data about to be written), once no
   * write reads from it.
   */
  const clear = async (span: Span, record = true, segment?: Buffer): Promise<void> => {
    const into = await behind.spare(segment);
    for (let at = span.start; at < span.end; at += CHUNK) {
      checkAbort();
      const buf = into.subarray(0, Math.min(CHUNK, span.end - at));
      dev.direct.read(at, buf);
      rec.staleRead += buf.length;
      for (const { start: s, end: e } of nonZeroRuns(buf)) {
        write(zeros.subarray(0, e - s), at + s);
        if (record) rec.expect.push({ offset: at + s, length: e - s, kind: 'zeros' });
        rec.staleCleared += e - s;
      }
      await turns.after();
    }
  };
  /**
   * Head and tail: only the blocks that are not zero need writing (the rest was cleared at the
   * start); all of it is verified, what was composed byte for byte and the rest as zeros.
   */
  const writeWhole = (area: ComposedArea): void => {
    checkAbort();
    let at = 0;
    const zerosUpTo = (end: Bytes): void => {
      if (end > at) rec.expect.push({ offset: area.base + at, length: end - at, kind: 'zeros' });
    };
    for (const f of area.filledBlocks()) {
      zerosUpTo(f.start);
      const bytes = area.buf.subarray(f.start, f.end);
      for (const { start, end } of nonZeroRuns(bytes)) write(bytes.subarray(start, end), area.base + f.start + start);
      rec.expect.push({ offset: area.base + f.start, length: bytes.length, kind: 'bytes', bytes });
      at = f.end;
    }
    zerosUpTo(area.buf.length);
  };

  // The old partition table goes first (both copies): an interrupted flash must not leave a
  // table that points into half-written partitions.
  await clear({ start: 0, end: plan.headEnd }, false);
  await clear({ start: plan.tailStart, end: plan.deviceSize }, false);
  fdatasyncSync(dev.fd);

  const ranges = o.compare ? [] : unchangedRanges(plan, source.bmap?.map);
  if (!o.checkBmapNow) for (const r of ranges) rec.expect.push({ ...r, kind: 'range' });
  let nextRange = 0;
  let cursor = plan.headEnd;
  const clearUntil = async (until: Bytes, segment?: Buffer): Promise<void> => {
    for (const s of plan.stale) {
      const start = Math.max(s.start, cursor), end = Math.min(s.end, until);
      if (end > start) await clear({ start, end }, true, segment);
    }
    cursor = Math.max(cursor, until);
  };

  o.progress.phase('writing', segmentTotal(source));
  try {
    for await (const seg of segments(source, reader, { checkBmap: o.checkBmapNow, checkManifest: !o.compare }, () => behind.buffer(), (n) => o.progress.update(n), o.signal)) {
      checkAbort();
      const end = seg.offset + seg.data.length;
      for (const p of plan.partitions) {
        if (p.start < seg.offset || p.start >= end) continue;
        const at = p.start - seg.offset;
        for (const s of staleFatMetadata(plan, p.start, seg.data.subarray(at, at + plan.sectorSize))) addStale(plan, s);
      }
      plan.head.copyIn(seg.offset, seg.data, plan.imageTableStart);
      plan.tail.copyIn(seg.offset, seg.data, plan.imageTableStart);
      const a = Math.max(seg.offset, plan.headEnd), b = Math.min(end, plan.tailStart, plan.imageTableStart);
      if (b <= a) continue;
      await clearUntil(a, seg.data);
      const piece = seg.data.subarray(a - seg.offset, b - seg.offset);
      await behind.write(piece, a);
      await written(piece.length);
      if (o.compare) {
        const last = rec.expect.at(-1);
        if (last?.kind === 'image' && last.offset + last.length === a) last.length += piece.length;
        else rec.expect.push({ offset: a, length: piece.length, kind: 'image' });
      } else {
        while (nextRange < ranges.length && ranges[nextRange]!.offset + ranges[nextRange]!.length <= a) nextRange++;
        const r = ranges[nextRange];
        const inRange = !o.checkBmapNow && r !== undefined && r.offset <= a && b <= r.offset + r.length;
        // Data outside a whole .bmap range (or without a map) is checked by its own hash.
        if (!inRange) rec.expect.push({ offset: a, length: piece.length, kind: 'data', sha256: createHash('sha256').update(piece).digest('hex') });
      }
      rec.dataBytes += piece.length;
      cursor = b;
    }
    await behind.settle();
  } catch (e) {
    // Nothing may still write when this throws (the caller closes the device), and a write still
    // out when it was thrown that fails (up to three: they went out before it) is the error
    // reported instead, the first of them to fail; an interrupt is reported as one.
    throw await behind.settle().then(() => e, (failed: unknown) => (e instanceof FlashInterrupted ? e : failed));
  }
  await clearUntil(plan.tailStart);

  for (const e of relocatedTable(plan, source.gpt, source.head)) (e.offset < plan.headEnd ? plan.head : plan.tail).copyIn(e.offset, e.data);
  // The tail (backup GPT) may land with the data; only the head must come after everything.
  writeWhole(plan.tail);
  fdatasyncSync(dev.fd);
  writeWhole(plan.head);
  fdatasyncSync(dev.fd);
  return rec;
}

/**
 * The image's data goes to the device through the thread pool while this thread reads and scans
 * the next chunk: on the ~200 MiB bench image a 1 MiB O_DIRECT write to the loop device takes
 * ~0.9 ms and the read and zero scan ~0.2 ms (the write phase 211 → 178 ms, medians of 10). As
 * many writes are out at a time as there are chunk buffers (three), so that the device has the
 * next write queued when it finishes one: with one out, it idled while the answer came back
 * through the event loop and the next write went out. The write phase of that image's flash,
 * medians of 21-31 flashes each: one out 184.7-195.2 ms, two 169.1-181.5, three 160.6-172.5
 * (and four, with a fourth buffer, no better). The next chunk is read, and old data to clear
 * (into a buffer that does not hold the segment about to be written), into a buffer no write
 * reads from, or else into the one the oldest of the writes from those buffers reads from, once
 * every write from it is done. Writes are awaited oldest first, so the first write to fail is
 * the error, thrown by whichever call waits for it (write(), buffer(), spare(), settle()).
 */
class WriteBehind {
  /** Writes still out, oldest first, each with the memory it reads from. */
  private out: { from: ArrayBufferLike; done: Promise<void> }[] = [];
  private failed: { error: unknown } | undefined;

  constructor(private readonly fd: number, private readonly bufs: readonly Buffer[]) {}

  /** The buffer to read the next chunk into: when it is asked for, every segment of the last chunk has been handed to write(). */
  buffer(): Promise<Buffer> {
    return this.pick(undefined);
  }

  /** A buffer that does not hold `inUse` (a segment still to be written). */
  spare(inUse: Buffer | undefined): Promise<Buffer> {
    return this.pick(inUse?.buffer);
  }

  /** Starts writing `data` (a view of one of the buffers) at `at`, once fewer writes are out than there are buffers. */
  async write(data: Buffer, at: Bytes): Promise<void> {
    while (this.out.length >= this.bufs.length) await this.oldest();
    const done = writeAllAtAsync(this.fd, data, at);
    // Awaited later, oldest first; failing meanwhile, it must not count as unhandled.
    done.catch(() => undefined);
    this.out.push({ from: data.buffer, done });
  }

  /** Waits for every write that is out, and throws the first error. */
  async settle(): Promise<void> {
    while (this.out.length > 0) await this.oldest().catch(() => undefined);
    if (this.failed) throw this.failed.error;
  }

  /** A buffer other than `not` that no write reads from; if there is none, the one the oldest write out reads from, once its writes are done. */
  private async pick(not: ArrayBufferLike | undefined): Promise<Buffer> {
    const others = this.bufs.filter((b) => b.buffer !== not);
    const busy = (b: Buffer): boolean => this.out.some((w) => w.from === b.buffer);
    const idle = others.find((b) => !busy(b));
    if (idle) return idle;
    const first = this.out.find((w) => others.some((b) => b.buffer === w.from))!;
    const b = others.find((x) => x.buffer === first.from)!;
    while (busy(b)) await this.oldest();
    return b;
  }

  private async oldest(): Promise<void> {
    const w = this.out.shift()!;
    try {
      await w.done;
    } catch (e) {
      this.failed ??= { error: e };
    }
    if (this.failed) throw this.failed.error;
  }
}
