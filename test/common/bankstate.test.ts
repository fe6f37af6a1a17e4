// The shared C code (common/) against its TypeScript twin and node's own CRC and SHA-256: same
// bytes on the shared vectors and on thousands of random inputs.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import CRC32 from 'crc-32';
import {
  armSelection, Bank, BootState, decodeState, encodeState, failState, markGood, newState, pushEvent, readState, select,
  text, type BankState, type BankView,
} from '../../partitions/bankstate.js';
import { compileHost, HostProgram, COMMON_HOST_SOURCES } from '../helpers/c-host.js';
import { repoRoot } from '../helpers/tools.js';

const host = new HostProgram(await compileHost('common-host', COMMON_HOST_SOURCES));
const vectors = JSON.parse(await readFile(join(repoRoot, 'test', 'vectors', 'bankstate.json'), 'utf8'));

// A tiny deterministic PRNG, so a failure can be replayed.
let seed = 0x9e3779b9;
const rnd = (n: number) => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed % n; };

const hex = (b: Uint8Array | undefined) => (b && b.length ? Buffer.from(b).toString('hex') : '-');
const slots = (v: BankView | undefined): [string, string] => {
  if (!v) return ['-', '-'];
  const rec = encodeState(v.state);
  // The other slot holds an older copy (or garbage), which must lose.
  const older = encodeState({ ...v.state, seq: (v.state.seq - 1) >>> 0, updated: v.state.updated ^ 0x55 });
  return v.currentSlot === 0 ? [rec.toString('hex'), hex(older)] : [hex(older), rec.toString('hex')];
};

function stateOf(bank: Bank, f: Record<string, number> | null): BankView | undefined {
  if (!f) return undefined;
  const s = newState({ bank, bootstate: f.bootstate!, updated: f.updated!, reason: f.reason ?? 0, version: `v${bank}` });
  if (f.triesLeft !== undefined) s.triesLeft = f.triesLeft;
  s.flags = f.flags ?? 0;
  s.seq = 10;
  return { present: true, currentSlot: (f.slot ?? 0) as 0 | 1, state: s };
}

test('CRC-32 and SHA-256 agree with crc-32 and node:crypto, on the standard check values and random data', async () => {
  assert.equal(await host.ask(`crc32 ${Buffer.from('123456789').toString('hex')}`), { crc32: 0xcbf43926 });
  assert.equal(await host.ask('sha256 616263'), { sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' });
  for (let i = 0; i < 300; i++) {
    const data = randomBytes(rnd(3) === 0 ? rnd(200) : rnd(5000));
    const c = await host.ask<{ crc32: number }>(`crc32 ${hex(data)}`);
    assert.is(c.crc32, CRC32.buf(data) >>> 0);
    const s = await host.ask<{ sha256: string }>(`sha256 ${hex(data)}`);
    assert.is(s.sha256, createHash('sha256').update(data).digest('hex'), `length ${data.length}`);
  }
});

test('the pinned record has the byte layout of docs/boot-state.md, in both implementations', async () => {
  const f = vectors.record.fields;
  const s = newState({ bank: f.bank, bootstate: f.bootstate, updated: f.updated, triesMax: f.triesMax, version: f.version, seq: f.seq });
  s.triesLeft = f.triesLeft;
  s.flags = f.flags;
  s.history[0] = { seq: f.history[0][0], event: f.history[0][1], bootstate: f.history[0][2], triesLeft: f.history[0][3], reason: f.history[0][4] };
  const expected = Buffer.alloc(512);
  expected.write('BFBANKST', 0, 'latin1');
  expected.writeUInt16LE(1, 8); expected.writeUInt16LE(512, 10); expected.writeUInt32LE(0x01020304, 12);
  expected.set([1, 2, 2, 3], 16); expected.writeUInt32LE(7, 20); expected[25] = 1;
  expected.write('1.2.3', 32, 'latin1');
  expected.writeUInt32LE(0x01020304, 128); expected.set([2, 2, 2, 0], 132);
  expected.writeUInt32LE(CRC32.buf(expected.subarray(0, 508)) >>> 0, 508);
  assert.is(encodeState(s).toString('hex'), expected.toString('hex'));
  const c = await host.ask<{ valid: boolean; reencoded: string }>(`decode ${expected.toString('hex')}`);
  assert.ok(c.valid);
  assert.is(c.reencoded, expected.toString('hex'));
});

test('a damaged record is refused by both: magic, format, size, CRC, any flipped byte', async () => {
  const good = encodeState(newState({ bank: Bank.A, bootstate: BootState.Valid, updated: 1 }));
  for (const at of [0, 8, 10, 12, 17, 100, 300, 507, 508, 511]) {
    const bad = Buffer.from(good);
    bad[at]! ^= 0x01;
    assert.is(decodeState(bad), undefined, `TS accepted a flip at ${at}`);
    assert.equal(await host.ask(`decode ${bad.toString('hex')}`), { valid: false }, `C accepted a flip at ${at}`);
  }
});

type SelectCase = {
  name: string; a: Record<string, number> | null; b: Record<string, number> | null; preferOther?: boolean; watchdogReset?: boolean; arm?: boolean;
  bank: number; writes: (Record<string, number> & { detail?: string })[];
};
for (const c of vectors.select as SelectCase[]) {
  test(`selection vector: ${c.name}`, async () => {
    const views: [BankView | undefined, BankView | undefined] = [stateOf(Bank.A, c.a), stateOf(Bank.B, c.b)];
    const ts = select(views, c.preferOther ?? false, c.watchdogReset ?? false);
    if (c.arm) armSelection(ts);
    assert.is(ts.bank, c.bank);
    assert.equal(ts.writes.map((w, i) => ({
      bank: w.bank, bootstate: w.state.bootstate, triesLeft: w.state.triesLeft, reason: w.state.reason, flags: w.state.flags,
      ...(c.writes[i]?.detail !== undefined ? { detail: text(w.state.detail) } : {}),
    })), c.writes);
    const cc = await host.ask<{ bank: number; writes: { bank: number; slot: number; record: string }[] }>(`select ${slots(views[0]).join(' ')} ${slots(views[1]).join(' ')} ${c.preferOther ? 1 : 0} ${c.watchdogReset ? 1 : 0} ${c.arm ? 1 : 0}`);
    assert.is(cc.bank, ts.bank);
    assert.equal(cc.writes, ts.writes.map((w) => ({ bank: w.bank, slot: w.slot, record: encodeState(w.state).toString('hex') })));
  });
}

function randomState(bank: Bank): BankState {
  const s = newState({ bank, bootstate: rnd(4), updated: rnd(4), triesMax: 1 + rnd(5), reason: rnd(9), version: `b${rnd(1000)}`, seq: rnd(3) === 0 ? 0xffffffff - rnd(3) : rnd(1000) });
  s.triesLeft = rnd(s.triesMax + 1);
  s.flags = rnd(3) === 0 ? rnd(256) : 0;
  for (let i = 0; i < rnd(20); i++) { s.seq = (s.seq + 1) >>> 0; pushEvent(s, 1 + rnd(5)); }
  return s;
}

test('random states: C and TypeScript make the same selection, writes, failures and mark-goods, byte for byte', async () => {
  for (let i = 0; i < 1500; i++) {
    const views: [BankView | undefined, BankView | undefined] = [Bank.A, Bank.B].map((b) =>
      rnd(8) === 0 ? undefined : { present: true, currentSlot: rnd(2) as 0 | 1, state: randomState(b) }) as [BankView | undefined, BankView | undefined];
    const prefer = rnd(4) === 0, watchdog = rnd(3) === 0, arm = rnd(2) === 0;
    const ts = select(views, prefer, watchdog);
    if (arm) armSelection(ts);
    const cc = await host.ask<{ bank: number; writes: { bank: number; slot: number; record: string }[] }>(`select ${slots(views[0]).join(' ')} ${slots(views[1]).join(' ')} ${prefer ? 1 : 0} ${watchdog ? 1 : 0} ${arm ? 1 : 0}`);
    assert.is(cc.bank, ts.bank, `case ${i}`);
    assert.equal(cc.writes, ts.writes.map((w) => ({ bank: w.bank, slot: w.slot, record: encodeState(w.state).toString('hex') })), `case ${i}`);

    const v = views[0];
    if (!v) continue;
    const [s0, s1] = slots(v);
    const read = await host.ask<{ present: boolean; slot: number; record: string }>(`read ${s0} ${s1}`);
    const tsRead = readState(Buffer.from(s0, 'hex'), Buffer.from(s1, 'hex'))!;
    assert.is(read.slot, tsRead.currentSlot);
    assert.is(read.record, encodeState(tsRead.state).toString('hex'));
    const detail = `file-${rnd(99)}.elf: sha256 mismatch and a long tail that is cut at sixty-four bytes`.slice(0, rnd(90));
    const reason = 1 + rnd(8);
    const fail = await host.ask<{ slot: number; record: string }>(`fail ${s0} ${s1} ${reason} ${hex(Buffer.from(detail))}`);
    assert.is(fail.slot, tsRead.currentSlot ^ 1);
    assert.is(fail.record, encodeState(failState(tsRead, reason, detail)).toString('hex'), `fail ${i}`);
    const good = await host.ask<{ write: boolean; record: string | null }>(`markgood ${s0} ${s1}`);
    const tsGood = markGood(tsRead);
    assert.is(good.write, tsGood !== undefined);
    if (tsGood) assert.is(good.record, encodeState(tsGood).toString('hex'));
  }
});

test('sanitizers saw nothing', async () => {
  const stderr = await host.close();
  assert.is(stderr, '');
});

test.run();
