// Power-cut safety by simulation (docs/upgrade.md, "Why every cut point is safe"): every sector
// write of an upgrade of the default layout (through a recording BlockDevice), of the loader's
// selection writes and of the kernel's mark-good (the C code, run on the host by
// test/c/powercut-host.c), replayed prefix by prefix and torn, with the C bf_select deciding.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { join } from 'node:path';
import { readBanks } from '../../../disk/bank-state.js';
import { createBundle } from '../../../builder/bundle/create.js';
import { DEFAULT_EPOCH } from '../../../builder/build.js';
import type { BlockDevice } from '../../../disk/device.js';
import { RecordingDevice, type RecordedOp } from '../../../disk/recording.js';
import { upgrade } from '../../../disk/upgrade/upgrade.js';
import { rollback } from '../../../disk/rollback.js';
import { BootState, Reason, slotOffsets, STATE, StateEvent, text } from '../../../partitions/bankstate.js';
import { compileHost, HostProgram, COMMON_HOST_SOURCES } from '../../helpers/c-host.js';
import { buildQuiet } from '../../helpers/images.js';
import { mustRun, scratch } from '../../helpers/tools.js';
import { checkCutPoints, type BankGeometry, type Segment } from './cutpoints.js';

const { dir, cleanup } = await scratch('bankforge-powercut-');
const selector = new HostProgram(await compileHost('common-host', COMMON_HOST_SOURCES));
const powercutHost = await compileHost('powercut-host', ['test/c/powercut-host.c', 'common/crc32.c', 'common/bankstate.c', 'common/fmt.c']);
const choose = async (recs: Buffer[]) => (await selector.ask<{ bank: number }>(`select ${recs.map((r) => r.toString('hex')).join(' ')} 0`)).bank;

const base = join(dir, 'base.img');
await buildQuiet({ layout: 'esxi', out: base, version: '1.0.0' });
const bundles: Record<string, string> = {};
for (const v of ['2.0.0', '3.0.0']) {
  bundles[v] = join(dir, `${v}.bfb`);
  await createBundle({ version: v, layout: 'esxi', out: bundles[v]!, kernelopt: '', bootTimeout: 0, epoch: DEFAULT_EPOCH });
}
const disk = await readBanks(base);
const geo = disk.banks.map((b) => ({ offset: b!.offset, size: b!.size })) as [BankGeometry, BankGeometry];

/** A copy of the base image to run a scenario on (sparse: the image is 752 MiB of mostly holes). */
async function work(name: string): Promise<string> {
  const out = join(dir, name);
  await mustRun('cp', ['--sparse=always', base, out]);
  return out;
}

/** One bankforge operation, recorded. */
async function recorded(label: string, allowed: string[], fn: (wrap: (d: BlockDevice) => BlockDevice) => Promise<unknown>): Promise<Segment> {
  let rec: RecordingDevice | undefined;
  await fn((d) => (rec = new RecordingDevice(d, disk.sectorSize, label)));
  return { label, allowed, ops: rec!.log };
}

/** The loader's or the kernel's writes, made by the C code on the image and parsed from its log. */
async function host(label: string, allowed: string[], args: string[]): Promise<Segment> {
  const r = await execa(powercutHost, args);
  const ops: RecordedOp[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^write (\d+) ([0-9a-f]+)$/.exec(line);
    if (m) ops.push({ kind: 'write', offset: Number(m[1]), data: Buffer.from(m[2]!, 'hex'), by: label }, { kind: 'flush', by: label });
  }
  return { label, allowed, ops };
}

const bootArgs = (img: string) => ['boot', img, String(disk.sectorSize), ...geo.flatMap((g) => [String(g.offset), String(g.size)])];
const goodArgs = (img: string, bank: 0 | 1) => ['mark-good', img, String(disk.sectorSize), String(geo[bank].offset), String(geo[bank].size), String(bank)];

const up = (img: string, v: string, tries = 3) => (wrap: (d: BlockDevice) => BlockDevice) => upgrade({ target: img, bundle: bundles[v]!, tries, force: false, wrap });

function stateWritesAlone(seg: Segment): string[] {
  // Each state write must sit alone between two flushes: on a real disk, writes between two
  // flushes may land in any order, so the order argument holds only across flushes.
  const slots = new Set(geo.flatMap((g) => slotOffsets(g.size).map((o) => g.offset + o)));
  const bad: string[] = [];
  seg.ops.forEach((op, i) => {
    if (op.kind === 'write' && slots.has(op.offset) && (seg.ops[i - 1]?.kind === 'write' || seg.ops[i + 1]?.kind !== 'flush')) bad.push(`${seg.label}: state write ${i} at byte ${op.offset} shares a flush epoch`);
  });
  return bad;
}

test('every cut point of A->B, trial, mark-good, B->A, rollback on the default layout boots a bank that verifies, old or new version', async () => {
  const img = await work('long.img');
  const v12 = ['1.0.0', '2.0.0'], v23 = ['2.0.0', '3.0.0'];
  const segments: Segment[] = [];
  segments.push(await recorded('upgrade 2.0.0 into B', v12, up(img, '2.0.0')));
  segments.push(await host('loader: trial boot of B', v12, bootArgs(img)));
  segments.push(await host('kernel: mark-good B', v12, goodArgs(img, 1)));
  segments.push(await host('loader: boot B', v12, bootArgs(img)));
  segments.push(await recorded('upgrade 3.0.0 into A', v23, up(img, '3.0.0')));
  segments.push(await host('loader: trial boot of A', v23, bootArgs(img)));
  segments.push(await host('kernel: mark-good A', v23, goodArgs(img, 0)));
  segments.push(await recorded('rollback to B', v23, (wrap) => rollback(img, { wrap })));
  segments.push(await host('loader: boot B after rollback', v23, bootArgs(img)));

  const upgradeWrites = segments[0]!.ops.filter((o) => o.kind === 'write');
  const b = geo[1];
  assert.ok(upgradeWrites.every((o) => o.kind === 'write' && o.offset >= b.offset && o.offset < b.offset + b.size), 'the upgrade into B writes only inside B');
  const dataWrites = upgradeWrites.filter((o) => o.kind === 'write' && o.offset < b.offset + b.size - STATE.areaSize);
  assert.is(upgradeWrites.length - dataWrites.length, 4, 'invalid x2, then new x2: the only writes into the state area');
  assert.equal(segments.flatMap(stateWritesAlone), []);

  const r = await checkCutPoints(base, disk.sectorSize, geo, segments, choose, { corrupt: true });
  const writes = segments.reduce((n, s) => n + s.ops.filter((o) => o.kind === 'write').length, 0);
  console.log(`  power-cut simulation (layouts/esxi.json): ${writes} sector writes, ${r.points} cut points checked (${r.torn} torn writes), ${r.corrupted} choices with one of two state copies damaged (${r.singleCopy} not tried: single-copy record), ${r.failures.length} failures`);
  console.log(`    of which the first upgrade alone: ${upgradeWrites.length} writes, ${2 * upgradeWrites.length + 1} cut points`);
  assert.equal(r.failures.slice(0, 10), [], `${r.failures.length} failures`);
  assert.is(r.points, 2 * writes + segments.length);
  // At rest after bankforge's own (mirrored) writes, damaging either copy changes nothing.
  const ours = r.restChanges.filter((c) => !c.segment.startsWith('loader') && !c.segment.startsWith('kernel'));
  assert.equal(ours, []);
  for (const c of r.restChanges) console.log(`    note: after "${c.segment}", damaging bank ${c.bank} slot ${c.slot} changes the choice from ${c.from} to ${c.to} (a single-copy loader/kernel write; the choice still verifies)`);
});

test('every cut point of an upgrade whose trial fails (tries run out, the loader rolls back) boots a bank that verifies', async () => {
  const img = await work('fail.img');
  const v = ['1.0.0', '2.0.0'];
  const segments = [await recorded('upgrade 2.0.0 into B (2 tries)', v, up(img, '2.0.0', 2))];
  for (let i = 1; i <= 3; i++) segments.push(await host(`loader: boot ${i}, no mark-good`, v, bootArgs(img)));
  const last = (await execa(powercutHost, bootArgs(img))).stdout.trim().split('\n').at(-1);
  assert.is(last, 'boot 0', 'after two failed tries bank A boots');
  const r = await checkCutPoints(base, disk.sectorSize, geo, segments, choose, { corrupt: true });
  console.log(`  failing trial: ${r.points} cut points checked (${r.torn} torn), ${r.failures.length} failures`);
  assert.equal(r.failures.slice(0, 10), []);
  assert.ok(r.points > 1000, `${r.points} cut points`);
});

test('every cut point of an armed trial that the watchdog ends twice (reason watchdog, then the loader rolls back) boots a bank that verifies', async () => {
  const img = await work('watchdog.img');
  const v = ['1.0.0', '2.0.0'];
  const segments = [await recorded('upgrade 2.0.0 into B (2 tries)', v, up(img, '2.0.0', 2))];
  // The first boot arms the watchdog; the next two follow a watchdog reset and arm it again.
  segments.push(await host('loader: armed trial 1', v, [...bootArgs(img), '0', '1']));
  for (let i = 2; i <= 3; i++) segments.push(await host(`loader: boot ${i} after a watchdog reset`, v, [...bootArgs(img), '1', '1']));
  const b = (await readBanks(img)).banks[1]!.view.state;
  assert.equal([b.bootstate, b.reason, text(b.detail)], [BootState.Invalid, Reason.Watchdog, 'watchdog reset in its last try: never marked good']);
  assert.equal(b.history.slice(0, 3).map((h) => [h.event, h.reason]), [[StateEvent.Invalid, Reason.Watchdog], [StateEvent.Try, Reason.Watchdog], [StateEvent.Try, Reason.None]]);
  const r = await checkCutPoints(base, disk.sectorSize, geo, segments, choose, { corrupt: true });
  console.log(`  watchdog trial: ${r.points} cut points checked (${r.torn} torn), ${r.failures.length} failures`);
  assert.equal(r.failures.slice(0, 10), []);
  assert.is(r.points, 2 * segments.reduce((n, s) => n + s.ops.filter((o) => o.kind === 'write').length, 0) + segments.length);
});

test('the checker is not blind: the same upgrade with its state written before its data fails', async () => {
  const img = await work('control.img');
  const seg = await recorded('upgrade 2.0.0, state first', ['1.0.0', '2.0.0'], up(img, '2.0.0'));
  const slots = new Set(slotOffsets(geo[1].size).map((o) => geo[1].offset + o));
  const writes = seg.ops.filter((o): o is Extract<RecordedOp, { kind: 'write' }> => o.kind === 'write');
  const state = writes.filter((o) => slots.has(o.offset));
  // invalid, invalid, [data], new, new  ->  new, new, [data]: the bank boots before its files are there.
  const wrongOrder = [...state.slice(2), ...writes.filter((o) => !slots.has(o.offset))];
  const r = await checkCutPoints(base, disk.sectorSize, geo, [{ ...seg, ops: wrongOrder }], choose, { corrupt: false, stopAfter: 1 });
  console.log(`  control (state before data): first failure: ${r.failures[0]}`);
  assert.ok(r.failures.length >= 1);
  // Before any data lands, bank B boots its old files under the new record.
  assert.match(r.failures[0]!, /bank B chosen, its record says 2\.0\.0 but its files are 1\.0\.0/);
});

test.after(async () => { await selector.close(); await cleanup(); });
test.run();
