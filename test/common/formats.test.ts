// The formats both C programs and the TypeScript read, pinned to each other: every case of the
// shared vectors (test/vectors/: boot.cfg, SHA256SUMS, host settings, the configuration record)
// is answered by the C (common/, built for the host with ASan/UBSan, through
// test/c/loader-host.c) and by the TypeScript twin (partitions/), and both must give the
// vector's answer: the same fields, or the same message.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseBootCfg, parseSums } from '../../partitions/bank-files.js';
import { checkSetting, decodeRecordBytes, encodeRecordText, readSlots, recordText, CONFIG } from '../../partitions/config-record.js';
import { buildHost, buildPlainHost, host as askHost, closeHosts } from '../bootloader/build.js';
import { FUZZ_SEED as SEED, fuzzRounds, mutate, rng } from '../helpers/fuzz.js';

const ROUNDS = fuzzRounds(150);
import { repoRoot, scratch } from '../helpers/tools.js';

const { dir, cleanup } = await scratch('bankforge-vectors-');
const { bin, sanitized } = await buildHost();
// The differential fuzz asks hundreds of questions: a plain build answers them (ASan makes every
// answer slower); the sanitized one answers the vectors, and the fuzz loops of
// bootloader/parsers.test.ts run under ASan. Each build answers in one process (`serve`).
const plain = await buildPlainHost();
const host = askHost;
const vectors = async (name: string): Promise<any> => JSON.parse(await readFile(join(repoRoot, 'test', 'vectors', name), 'utf8'));
let files = 0;
const file = async (bytes: Uint8Array): Promise<string> => { const p = join(dir, `in-${files++}`); await writeFile(p, bytes); return p; };
const input = (c: { hex?: string; text?: string }): Buffer => (c.hex !== undefined ? Buffer.from(c.hex, 'hex') : Buffer.from(c.text!, 'utf8'));
/** The TypeScript side's answer in the vectors' shape: the value, or { error: message }. */
const answer = <T>(f: () => T): T | { error: string } => {
  try { return f(); } catch (e) { return { error: (e as Error).message }; }
};
const expected = (c: { error?: string }, ok: unknown): unknown => (c.error !== undefined ? { error: c.error } : ok);

test('the C side is built with ASan and UBSan', () => { assert.ok(sanitized); });

test('boot.cfg: C and TypeScript give every vector\'s answer', async () => {
  const { cases } = await vectors('bootcfg.json');
  assert.ok(cases.length >= 40, `${cases.length} cases`);
  await Promise.all(cases.map(async (c: any) => {
    const want = expected(c, c.expect);
    assert.equal(await host(bin, ['bootcfg', await file(input(c))]), want, `C: ${c.name}`);
    assert.equal(answer(() => parseBootCfg(input(c))), want, `TypeScript: ${c.name}`);
  }));
});

test('SHA256SUMS: C and TypeScript give every vector\'s answer', async () => {
  const { cases } = await vectors('sha256sums.json');
  assert.ok(cases.length >= 20, `${cases.length} cases`);
  await Promise.all(cases.map(async (c: any) => {
    const lookup = c.lookup ?? {};
    const want = expected(c, { files: c.files, lookup });
    const fromC = await host(bin, ['sums', await file(input(c)), ...Object.keys(lookup)]);
    if (fromC.error === undefined) delete fromC.count;
    assert.equal(fromC, want, `C: ${c.name}`);
    const ts = answer(() => {
      const sums = parseSums(input(c));
      return { files: Object.fromEntries(sums), lookup: Object.fromEntries(Object.keys(lookup).map((k) => [k, sums.get(k) ?? null])) };
    });
    assert.equal(ts, want, `TypeScript: ${c.name}`);
  }));
});

test('host settings: C and TypeScript accept and refuse alike, with the same message', async () => {
  const { cases } = await vectors('host-settings.json');
  assert.ok(cases.length >= 50, `${cases.length} cases`);
  await Promise.all(cases.map(async (c: any) => {
    const what = `${c.key}=${JSON.stringify(c.value)}${c.name ? ` (${c.name})` : ''}`;
    const want = expected(c, { ok: true });
    assert.equal(await host(bin, ['setting', c.key, c.value]), want, `C: ${what}`);
    const err = checkSetting(c.key, c.value);
    assert.equal(err === undefined ? { ok: true } : { error: err }, want, `TypeScript: ${what}`);
  }));
});

test('configuration record: decode, encode and the current slot agree in C and TypeScript', async () => {
  const rec = await vectors('config-record.json');
  await Promise.all(rec.decode.map(async (c: any) => {
    const want = expected(c, { seq: c.seq, text: c.text, skipped: c.skipped, settings: c.settings });
    assert.equal(await host(bin, ['record-decode', await file(Buffer.from(c.hex, 'hex'))]), want, `C decode: ${c.name}`);
    const ts = answer(() => {
      const d = decodeRecordBytes(Buffer.from(c.hex, 'hex'));
      return { seq: d.seq, text: d.text, skipped: d.skipped, settings: { ...d.settings } };
    });
    assert.equal(ts, want, `TypeScript decode: ${c.name}`);
  }));
  await Promise.all(rec.encode.map(async (c: any) => {
    const want = expected(c, { hex: c.hex });
    assert.equal(await host(bin, ['record-encode', String(c.seq), await file(Buffer.from(c.text, 'utf8'))]), want, `C encode: ${c.name}`);
    assert.equal(answer(() => ({ hex: encodeRecordText(c.seq, Buffer.from(c.text, 'utf8')).toString('hex') })), want, `TypeScript encode: ${c.name}`);
    if (c.settings) assert.is(recordText(c.settings).toString('utf8'), c.text, `TypeScript record text: ${c.name}`);
  }));
  const slot = (h: string): Buffer => (h === '' ? Buffer.alloc(CONFIG.slotSize) : Buffer.from(h, 'hex'));
  await Promise.all(rec.slots.map(async (c: any) => {
    const want = c.current === null ? { current: null } : { current: c.current, seq: c.seq, hostname: c.hostname };
    const fromC = await host(bin, ['slots', await file(slot(c.a)), await file(slot(c.b))]);
    assert.equal(fromC.current === null ? fromC : { current: fromC.current, seq: fromC.seq, hostname: fromC.settings.hostname }, want, `C slots: ${c.name}`);
    const v = readSlots(slot(c.a), slot(c.b));
    assert.equal(v.current === undefined ? { current: null } : { current: v.current, seq: v.record!.seq, hostname: v.record!.settings.hostname }, want, `TypeScript slots: ${c.name}`);
  }));
});

test(`differential fuzz (seed ${SEED}, ${ROUNDS} rounds a format): mutated vectors get the same answer from C and TypeScript`, async () => {
  const next = rng(SEED);
  const pick = <T>(xs: T[]): T => xs[next() % xs.length]!;
  const cfgs = (await vectors('bootcfg.json')).cases.map(input);
  const sums = (await vectors('sha256sums.json')).cases.map(input);
  const settings = (await vectors('host-settings.json')).cases as { key: string; value: string }[];
  const records: Buffer[] = (await vectors('config-record.json')).decode.map((c: { hex: string }) => Buffer.from(c.hex, 'hex')).filter((b: Buffer) => b.length >= CONFIG.headerSize);
  const same = (what: string, bytes: Buffer, fromC: unknown, fromTs: unknown): void =>
    assert.equal(fromTs, fromC, `${what} differs on ${bytes.toString('hex')} (seed ${SEED})`);
  // Inputs first, in a fixed order (so a seed replays them), then every answer at once.
  const rounds = Array.from({ length: ROUNDS }, () => {
    const cfg = mutate(pick(cfgs), next);
    const sum = mutate(pick(sums), next);
    const c = pick(settings);
    // argv carries bytes, never a NUL: the value as UTF-8, so both sides see the same bytes.
    const value = mutate(Buffer.from(c.value, 'utf8'), next, false).toString('utf8');
    // A record whose text is mutated, its CRC made to agree (else every case is a CRC mismatch).
    const base = pick(records);
    const text = mutate(base.subarray(CONFIG.headerSize, CONFIG.headerSize + base.readUInt32LE(16)), next);
    const rec = text.length <= CONFIG.textMax ? encodeRecordText(base.readUInt32LE(12), text) : base;
    return { cfg, sum, key: c.key, value, rec };
  });
  await Promise.all(rounds.map(async ({ cfg, sum, key, value, rec }) => {
    same('boot.cfg', cfg, await host(plain, ['bootcfg', await file(cfg)]), answer(() => parseBootCfg(cfg)));
    const fromC = await host(plain, ['sums', await file(sum)]);
    delete fromC.count;
    delete fromC.lookup;
    same('SHA256SUMS', sum, fromC, answer(() => ({ files: Object.fromEntries(parseSums(sum)) })));
    const err = checkSetting(key, value);
    same(`setting ${key}`, Buffer.from(value), await host(plain, ['setting', key, value]), err === undefined ? { ok: true } : { error: err });
    same('record', rec, await host(plain, ['record-decode', await file(rec)]), answer(() => {
      const d = decodeRecordBytes(rec);
      return { seq: d.seq, text: d.text, skipped: d.skipped, settings: { ...d.settings } };
    }));
  }));
});

test.after(async () => { await closeHosts(); await cleanup(); });
test.run();
