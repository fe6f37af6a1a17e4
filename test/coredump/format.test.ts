// The core-dump format without a machine: partitions/coredump.ts round trips, refuses what a
// torn or corrupt write leaves, wraps around its ring of slots and clears; the C header
// (common/coredump.h, built for the host) reads what TypeScript writes and the other way round.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Cause, clearHeader, COREDUMP, defaultGeometry, DumpState, encodeDump, geometryOf, readDumpHeaders, readDumps, slotOfSeq, type DumpContent, type Geometry,
} from '../../partitions/coredump.js';
import { MiB, KiB } from '../../partitions/units.js';
import { readSpaced } from '../../partitions/sink.js';
import { scratch, tool } from '../helpers/tools.js';
import { compileHost } from '../helpers/c-host.js';

const PART = 8 * MiB;   // the small layout's core-dump partition

function content(seq: number, over: Partial<DumpContent['header']> = {}): DumpContent {
  return {
    header: {
      seq, rtcTime: 1_700_000_000 + seq, uptimeMs: 4200, tsc: 123456789n, tscHz: 2_000_000_000, bank: seq % 2, bootstate: 2,
      build: `1.0.${seq}`, kernelStart: 0x1000000n, kernelEnd: 0x1050000n, panicAddr: 0x1002000n, cause: Cause.Exception,
      vector: 14, errorCode: 0n, faultAddr: 0x7ff000000000n, reason: `exception 14: #PF page fault, error code 0x0 (#${seq})`, logWritten: 70000,
      ...over,
    },
    regs: { rip: 0x1001234n, rsp: 0x1040000n, rbp: 0x1040010n, rax: 0xdeadn, cr2: 0x7ff000000000n },
    allRegisters: true,
    backtrace: [0x1001234n, 0x1001300n, 0x1001400n],
    log: Buffer.from(`line one\nseq ${seq}\n`),
    bootInfo: Buffer.alloc(64, 7),
  };
}

function partition(): Buffer {
  return Buffer.alloc(PART);
}

function put(part: Buffer, g: Geometry, c: DumpContent, state = DumpState.Complete): number {
  const d = encodeDump(g, c, state);
  d.header.copy(part, d.offset);
  d.body.copy(part, d.offset + COREDUMP.block);
  return d.offset;
}

const source = (b: Buffer) => ({ size: b.length, read: async (o: number, l: number) => Buffer.from(b.subarray(o, o + l)) });

test('an unformatted partition gets the default geometry; small ones one slot; too small ones none', () => {
  assert.equal(geometryOf(Buffer.alloc(64), PART), { slotSize: MiB, slotCount: 7, slotsOffset: 4096, clearedSeq: 0, formatted: false });
  assert.equal(defaultGeometry(200 * KiB), { slotSize: 196 * KiB, slotCount: 1, slotsOffset: 4096, clearedSeq: 0, formatted: false });
  assert.throws(() => defaultGeometry(100 * KiB), /too small: expected at least 135168/);
});

test('round trip: every header field, the registers, backtrace, log and boot info come back', async () => {
  const part = partition();
  const g = geometryOf(part, PART);
  const c = content(3);
  put(part, g, c);
  const { dumps } = await readDumps(source(part));
  assert.is(dumps.length, 1);
  const d = dumps[0]!;
  if (d.status !== 'complete') throw new Error(`expected complete, got ${d.problem}`);
  assert.is(d.slot, 2);
  for (const [k, v] of Object.entries(c.header)) assert.equal(d.header[k as keyof typeof d.header], v, k);
  assert.is(d.header.state, DumpState.Complete);
  assert.is(d.body.regs.rip, 0x1001234n);
  assert.is(d.body.regs.rax, 0xdeadn);
  assert.is(d.body.regs.r15, 0n);
  assert.ok(d.body.allRegisters);
  assert.equal(d.body.backtrace, c.backtrace);
  assert.is(d.body.log, 'line one\nseq 3\n');
  assert.is(d.body.bootInfo, undefined, 'not a bf_boot_info (no magic)');
});

test('a header still "writing", a body that fails its CRC: incomplete; a header that fails its CRC: no dump', async () => {
  const part = partition();
  const g = geometryOf(part, PART);
  put(part, g, content(1), DumpState.Writing);
  const at2 = put(part, g, content(2));
  part[at2 + COREDUMP.block + 300]! ^= 0x40;    // a bit of the log
  const at3 = put(part, g, content(3));
  part[at3 + 200]! ^= 1;                        // a bit of the reason
  const { dumps } = await readDumps(source(part));
  assert.equal(dumps.map((d) => [d.header.seq, d.status]), [[1, 'incomplete'], [2, 'incomplete']]);
  assert.match(dumps[0]!.status === 'incomplete' ? dumps[0]!.problem : '', /cut short while being written/);
  assert.match(dumps[1]!.status === 'incomplete' ? dumps[1]!.problem : '', /body CRC mismatch/);
});

test('a header that names another slot (left over from another geometry) is not a dump', async () => {
  const part = partition();
  const g = geometryOf(part, PART);
  const d = encodeDump(g, content(1));
  d.header.copy(part, g.slotsOffset + 3 * g.slotSize);   // seq 1 belongs in slot 0
  assert.equal((await readDumps(source(part))).dumps, []);
});

test('the ring wraps: seq 8 and 9 overwrite slots 0 and 1, the newest seven remain', async () => {
  const part = partition();
  const g = geometryOf(part, PART);
  for (let seq = 1; seq <= 9; seq++) put(part, g, content(seq));
  assert.is(slotOfSeq(g, 8), 0);
  assert.is(slotOfSeq(g, 9), 1);
  const { dumps } = await readDumps(source(part));
  assert.equal(dumps.map((d) => [d.header.seq, d.slot, d.status]),
    [[3, 2, 'complete'], [4, 3, 'complete'], [5, 4, 'complete'], [6, 5, 'complete'], [7, 6, 'complete'], [8, 0, 'complete'], [9, 1, 'complete']]);
});

test('clear: one header block marks every dump cleared; the next dump continues above them and is not', async () => {
  const part = partition();
  let g = geometryOf(part, PART);
  for (let seq = 1; seq <= 9; seq++) put(part, g, content(seq));
  const before = Buffer.from(part);
  const header = clearHeader(g, (await readDumps(source(part))).dumps);
  assert.is(header.length, COREDUMP.block);
  header.copy(part, 0);
  assert.ok(part.subarray(COREDUMP.block).equals(before.subarray(COREDUMP.block)), 'nothing after the header block changed');
  g = geometryOf(part, PART);
  assert.equal(g, { slotSize: MiB, slotCount: 7, slotsOffset: 4096, clearedSeq: 9, formatted: true });
  assert.ok((await readDumps(source(part))).dumps.every((d) => d.cleared));
  put(part, g, content(10));
  const after = (await readDumps(source(part))).dumps;
  assert.equal(after.filter((d) => !d.cleared).map((d) => [d.header.seq, d.slot]), [[10, 2]]);
});

test('readDumpHeaders: the same dumps as readDumps, in the same order, reading only the slot headers', async () => {
  const part = partition();
  let g = geometryOf(part, PART);
  for (let seq = 1; seq <= 9; seq++) put(part, g, content(seq));
  clearHeader(g, (await readDumps(source(part))).dumps).copy(part, 0);
  g = geometryOf(part, PART);
  put(part, g, content(10));
  put(part, g, content(11), DumpState.Writing);
  const damaged = put(part, g, content(12));
  part[damaged + COREDUMP.block + 100]! ^= 0xff; // its body's CRC no longer matches
  const reads: [number, number][] = [];
  const recorded = { size: part.length, read: async (o: number, l: number) => { reads.push([o, l]); return Buffer.from(part.subarray(o, o + l)); } };
  const { geometry, entries } = await readDumpHeaders(recorded);
  const { dumps } = await readDumps(source(part));
  assert.equal(geometry, g);
  assert.equal(entries.map((e) => [e.slot, e.cleared, e.header]), dumps.map((d) => [d.slot, d.cleared, d.header]));
  assert.equal(dumps.map((d) => [d.header.seq, d.cleared, d.status]),
    [[6, true, 'complete'], [7, true, 'complete'], [8, true, 'complete'], [9, true, 'complete'], [10, false, 'complete'], [11, false, 'incomplete'], [12, false, 'incomplete']]);
  assert.ok(reads.every(([o, l]) => o === 0 ? l === COREDUMP.partHeaderSize : l === COREDUMP.headerSize), JSON.stringify(reads));
  assert.is(reads.length, 1 + g.slotCount);

  // A source that reads spaced runs itself (a file does) is asked once for every slot header.
  const spaced: [number, number, number, number][] = [];
  const fast = { ...source(part), readSpaced: async (o: number, stride: number, count: number, l: number) => {
    spaced.push([o, stride, count, l]);
    return readSpaced(source(part), o, stride, count, l);
  } };
  assert.equal((await readDumpHeaders(fast)).entries, entries);
  assert.equal(spaced, [[g.slotsOffset, g.slotSize, g.slotCount, COREDUMP.headerSize]]);
});

test('encodeDump refuses what the format cannot hold, naming expected and seen', () => {
  const g = geometryOf(partition(), PART);
  assert.throws(() => encodeDump(g, content(1, { reason: 'x'.repeat(192) })), /reason: at most 191 bytes, got 192/);
  assert.throws(() => encodeDump(g, { ...content(1), log: Buffer.alloc(MiB) }), /does not fit a slot of 1048576/);
});

// The C side.

let host: string;
let dir: string;
let cleanup: () => Promise<void>;

test.before(async () => {
  ({ dir, cleanup } = await scratch('bankforge-coredump-'));
  host = await compileHost('coredump-host', ['test/coredump/host.c', 'common/crc32.c']);
});
test.after(async () => cleanup());

async function run(...args: string[]): Promise<string[]> {
  const r = await tool(host, args);
  assert.is(r.exitCode, 0, r.all);
  return r.stdout.trimEnd().split('\n');
}

test('C and TypeScript agree on the sizes and offsets of the format (docs/coredump.md)', async () => {
  const l = JSON.parse((await run('layout'))[0]!);
  assert.equal(l.part, { slot_size: 16, slot_count: 20, slots_offset: 24, cleared_seq: 32, crc: 60, size: 64 });
  assert.equal(l.dump, {
    seq: 16, slot: 24, state: 28, rtc_time: 32, bank: 64, build: 72, kernel_end: 112, panic_addr: 120, cause: 128, fault_addr: 144,
    reason: 152, sections: 344, log_written: 376, body_size: 384, body_crc: 388, header_crc: 508, size: COREDUMP.headerSize,
  });
  assert.equal(l.regs, { rip: 128, cr4: 184, flags: 192, size: COREDUMP.regsSize });
});

test('C reads what TypeScript writes: geometry, complete, writing, corrupt body, corrupt header, cleared', async () => {
  const part = partition();
  let g = geometryOf(part, PART);
  put(part, g, content(1));
  put(part, g, content(2), DumpState.Writing);
  const at3 = put(part, g, content(3));
  part[at3 + COREDUMP.block + 10]! ^= 1;
  const at4 = put(part, g, content(4));
  part[at4 + 17]! ^= 1;
  const file = join(dir, 'ts.part');
  await writeFile(file, part);
  let [geo, ...slots] = (await run('scan', file)).map((l) => JSON.parse(l));
  assert.equal(geo, { slotSize: MiB, slotCount: 7, slotsOffset: 4096, clearedSeq: 0, formatted: false });
  assert.equal(slots.slice(0, 4).map((s) => [s.valid, s.seq, s.state, s.bodyOk]),
    [[true, 1, 2, true], [true, 2, 1, false], [true, 3, 2, false], [false, undefined, undefined, undefined]]);
  clearHeader(g, (await readDumps(source(part))).dumps).copy(part, 0);
  await writeFile(file, part);
  g = geometryOf(part, PART);
  [geo, ...slots] = (await run('scan', file)).map((l) => JSON.parse(l));
  assert.equal(geo, { slotSize: MiB, slotCount: 7, slotsOffset: 4096, clearedSeq: 3, formatted: true });
});

test('TypeScript reads what C writes, field by field; a C dump left "writing" is incomplete', async () => {
  const file = join(dir, 'c.part');
  await writeFile(file, partition());
  await run('write', file, '5', '2', 'exception 14: #PF page fault, error code 0x0');
  await run('write', file, '6', '1', 'panic in the middle');
  const { dumps } = await readDumps(source(await readFile(file)));
  assert.equal(dumps.map((d) => [d.header.seq, d.slot, d.status]), [[5, 4, 'complete'], [6, 5, 'incomplete']]);
  const d = dumps[0]!;
  if (d.status !== 'complete') throw new Error('expected complete');
  assert.is(d.header.reason, 'exception 14: #PF page fault, error code 0x0');
  assert.is(d.header.build, '7.0.3-host');
  assert.is(d.header.bank, 1);
  assert.is(d.header.rtcTime, 1_700_000_000);
  assert.is(d.header.faultAddr, 0x7ff000000000n);
  assert.is(d.body.regs.rip, 0x1001234n);
  assert.is(d.body.regs.rax, 0xaaaan);
  assert.ok(d.body.allRegisters);
  assert.equal(d.body.backtrace, [0x1001234n, 0x1005678n]);
  assert.is(d.body.log, 'hello from the host\n');
});

test.run();
