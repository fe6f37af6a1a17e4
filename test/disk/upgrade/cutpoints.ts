// The power-cut checker: given a disk image as it was before a sequence of recorded sector
// writes (upgrade through RecordingDevice, the loader's and the kernel's writes through
// test/c/powercut-host.c), rebuild the disk after every prefix of the writes, and after a torn
// version of the next write (its first 256 bytes new, the rest old), and check that the loader's
// choice (the C bf_select, through test/c/common-host.c) is a bank that verifies (its files
// match its SHA256SUMS, read with FatVolume) and holds one of the versions the step allows.
// With `corrupt`, the same is checked with each of the four state copies damaged in turn.

import { openFileSource } from '../../../disk/file-source.js';
import { checkBankVolume } from '../../../disk/upgrade/bank-volume.js';
import type { RecordedOp } from '../../../disk/recording.js';
import { decodeState, readState, slotOffsets, STATE, text } from '../../../partitions/bankstate.js';
import type { ByteSource } from '../../../partitions/sink.js';
import type { Bytes, SectorSize } from '../../../partitions/units.js';

export interface BankGeometry { offset: Bytes; size: Bytes }

/** Writes made by one actor in one step, and the versions a bank chosen during them may hold. */
export interface Segment { label: string; allowed: string[]; ops: RecordedOp[] }

/** The loader's decision on four raw records (A slot 0, A slot 1, B slot 0, B slot 1): bank or -1. */
export type Chooser = (records: Buffer[]) => Promise<number>;

export interface CutReport {
  /** Disk states checked: every prefix, plus every torn write. */
  points: number;
  torn: number;
  /** Choices checked with one state copy damaged. */
  corrupted: number;
  /** Damage not tried because that bank's record had no second valid copy to fall back on. */
  singleCopy: number;
  failures: string[];
  /** At the end of each segment: which single-copy damage changes the choice. */
  restChanges: { segment: string; bank: 'A' | 'B'; slot: 0 | 1; from: number; to: number }[];
}

const TORN_BYTES = 256;

/** The base image with sector writes laid over it. */
class Overlay implements ByteSource {
  readonly sectors = new Map<Bytes, Buffer>();
  constructor(private readonly base: ByteSource, private readonly unit: Bytes) {}
  get size(): Bytes { return this.base.size; }
  async read(offset: Bytes, length: Bytes): Promise<Buffer> {
    const out = await this.base.read(offset, length);
    const first = Math.floor(offset / this.unit) * this.unit;
    for (let s = first; s < offset + length; s += this.unit) {
      const data = this.sectors.get(s);
      if (!data) continue;
      const from = Math.max(s, offset), to = Math.min(s + data.length, offset + length);
      data.copy(out, from - offset, from - s, to - s);
    }
    return out;
  }
}

export async function checkCutPoints(baseImage: string, sectorSize: SectorSize, banks: [BankGeometry, BankGeometry], segments: Segment[], choose: Chooser,
  opts: { corrupt: boolean; stopAfter?: number }): Promise<CutReport> {
  const base = await openFileSource(baseImage);
  const disk = new Overlay(base, sectorSize);
  const report: CutReport = { points: 0, torn: 0, corrupted: 0, singleCopy: 0, failures: [], restChanges: [] };
  const slotAt = banks.flatMap((b) => slotOffsets(b.size).map((o) => b.offset + o));
  const fatOf = (off: Bytes) => banks.findIndex((b) => off >= b.offset && off < b.offset + b.size - STATE.areaSize);
  // A bank's files change only with writes into its FAT area: verify once per such version.
  const dataVersion = [0, 0];
  const verified = new Map<string, string>();
  const choices = new Map<string, number>();

  const records = async () => Promise.all(slotAt.map((o) => disk.read(o, STATE.recordSize)));
  const choice = async (recs: Buffer[]) => {
    const key = recs.map((r) => r.toString('hex')).join('');
    let c = choices.get(key);
    if (c === undefined) { c = await choose(recs); choices.set(key, c); }
    return c;
  };
  /** '' when the chosen bank verifies and holds an allowed version matching its record, else why not. */
  const problem = async (recs: Buffer[], allowed: string[], tornInto: number): Promise<string> => {
    const bank = await choice(recs);
    if (bank < 0) return 'no bank is bootable';
    const key = `${bank}:${dataVersion[bank]}:${tornInto === bank ? 'torn' : ''}`;
    let version = verified.get(key);
    if (version === undefined) {
      const b = banks[bank]!;
      version = await checkBankVolume(disk, b.offset, b.size, sectorSize, `bank ${'AB'[bank]}`).then((c) => c.version, (e: Error) => `!${e.message}`);
      verified.set(key, version);
    }
    if (version.startsWith('!')) return `bank ${'AB'[bank]} chosen but does not verify: ${version.slice(1)}`;
    if (!allowed.includes(version)) return `bank ${'AB'[bank]} chosen, holds ${version}, expected one of ${allowed.join(', ')}`;
    const record = readState(recs[bank * 2]!, recs[bank * 2 + 1]!)!.state;
    if (text(record.version) !== version) return `bank ${'AB'[bank]} chosen, its record says ${text(record.version)} but its files are ${version}`;
    return '';
  };
  const damaged = (recs: Buffer[], i: number) => recs.map((r, j) => {
    if (j !== i) return r;
    const d = Buffer.from(r);
    d[100] = d[100]! ^ 0x5a; // inside the record: its CRC no longer matches
    return d;
  });
  const checkPoint = async (where: string, allowed: string[], tornInto: number) => {
    const recs = await records();
    const p = await problem(recs, allowed, tornInto);
    if (p) report.failures.push(`${where}: ${p}`);
    if (!opts.corrupt) return;
    for (let i = 0; i < 4; i++) {
      // Two copies protect against the loss of one; a bank with a single valid copy (a fresh
      // image's, whose slot 1 build leaves empty) has nothing to fall back on.
      if (!decodeState(recs[i ^ 1]!)) { report.singleCopy++; continue; }
      report.corrupted++;
      const q = await problem(damaged(recs, i), allowed, tornInto);
      if (q) report.failures.push(`${where}, bank ${'AB'[i >> 1]} slot ${i & 1} damaged: ${q}`);
    }
  };
  const full = () => report.failures.length >= (opts.stopAfter ?? Infinity);

  try {
    let n = 0;
    for (const seg of segments) {
      for (const op of seg.ops) {
        if (op.kind !== 'write') continue;
        const where = `${seg.label}, before write ${n} (${op.by}, byte ${op.offset})`;
        report.points++;
        await checkPoint(where, seg.allowed, -1);
        // The torn write: the sector's first bytes new, the rest as they were.
        const old = disk.sectors.get(op.offset);
        const torn = Buffer.concat([op.data.subarray(0, TORN_BYTES), (await disk.read(op.offset, op.data.length)).subarray(TORN_BYTES)]);
        disk.sectors.set(op.offset, torn);
        report.points++;
        report.torn++;
        await checkPoint(`${seg.label}, write ${n} torn`, seg.allowed, fatOf(op.offset));
        if (old) disk.sectors.set(op.offset, old); else disk.sectors.delete(op.offset);
        disk.sectors.set(op.offset, op.data);
        const fat = fatOf(op.offset);
        if (fat >= 0) dataVersion[fat]! += 1;
        n++;
        if (full()) return report;
      }
      report.points++;
      await checkPoint(`after ${seg.label}`, seg.allowed, -1);
      const recs = await records();
      const before = await choice(recs);
      for (let i = 0; i < 4; i++) {
        if (!decodeState(recs[i ^ 1]!)) continue;
        const after = await choice(damaged(recs, i));
        if (after !== before) report.restChanges.push({ segment: seg.label, bank: i >> 1 ? 'B' : 'A', slot: (i & 1) as 0 | 1, from: before, to: after });
      }
      if (full()) return report;
    }
    return report;
  } finally {
    await base.close();
  }
}
