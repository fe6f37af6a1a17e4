// Upgrades end to end in QEMU (TCG), through the CLI as a user runs it: A->B boots B on trial and
// B's kernel keeps it; B->A; a manual rollback; a kernel that panics and one that hangs (the test
// power-cycles it as a watchdog would) are rolled back after their tries, and status says why.
// The store partition's files are compared after every step. Two lanes run at once (two cores).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatusReport } from '../../../disk/status.js';
import { cli } from '../../helpers/cli.js';
import { scratch } from '../../helpers/tools.js';
import { bundle, storeFingerprint, storeImage, storeLayout } from './fixtures.js';
import { BOOT_MS, withMachine } from '../../helpers/machine.js';

const { dir, cleanup } = await scratch('bankforge-upgrade-boot-');
const layout = await storeLayout(dir);

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  assert.is(r.exitCode, 0, `bankforge ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const status = async (img: string) => JSON.parse(await ok(['status', img, '--json'])) as StatusReport;
const bankOf = (s: StatusReport, b: 'A' | 'B') => s.banks.find((x) => x.bank === b)!;

/** Lane 1: A->B (trial, good, stays across a power cycle), B->A, manual rollback to B. */
async function forwardAndBack(): Promise<string[]> {
  const steps: string[] = [];
  const img = await storeImage(dir, 'forward', layout);
  const store = await storeFingerprint(img);
  const keep = async (step: string) => { assert.equal(await storeFingerprint(img), store, `store after ${step}`); steps.push(step); };

  await ok(['upgrade', img, await bundle(dir, '2.0.0', layout), '--quiet']);
  await withMachine({ image: img }, async (m) => {
    await m.waitFor(/^bank B: on trial, try 1 of 3$/, { timeoutMs: BOOT_MS });
    await m.waitFor(/^bank: B marked good/, { timeoutMs: BOOT_MS });
    await m.waitFor(/^bankforge: ready version=2\.0\.0 bank=B /, { timeoutMs: BOOT_MS });
    await m.powerCycle();
    await m.waitFor(/^booting bank B \(valid, updated 2, build 2\.0\.0\)$/, { timeoutMs: BOOT_MS });
    await m.waitFor(/^bankforge: ready version=2\.0\.0 bank=B /, { timeoutMs: BOOT_MS });
  });
  let s = await status(img);
  assert.is(s.next, 'B');
  assert.is(bankOf(s, 'B').bootstate, 'valid');
  assert.equal(bankOf(s, 'B').history.slice(0, 3).map((h) => h.event), ['good', 'try', 'installed']);
  await keep('A->B');

  await ok(['upgrade', img, await bundle(dir, '3.0.0', layout), '--quiet']);
  assert.is(bankOf(await status(img), 'A').version, '3.0.0', 'the next upgrade goes into A');
  await withMachine({ image: img }, async (m) => {
    await m.waitFor(/^bank A: on trial, try 1 of 3$/, { timeoutMs: BOOT_MS });
    await m.waitFor(/^bankforge: ready version=3\.0\.0 bank=A /, { timeoutMs: BOOT_MS });
  });
  assert.is(bankOf(await status(img), 'A').bootstate, 'valid');
  await keep('B->A');

  await ok(['rollback', img, '--quiet']);
  s = await status(img);
  assert.is(s.next, 'B');
  assert.is(bankOf(s, 'B').reason, 'rolled back');
  await withMachine({ image: img }, async (m) => {
    await m.waitFor(/^booting bank B \(valid, updated 4, build 2\.0\.0\)$/, { timeoutMs: BOOT_MS });
    await m.waitFor(/^bankforge: ready version=2\.0\.0 bank=B /, { timeoutMs: BOOT_MS });
  });
  await keep('rollback');
  return steps;
}

/** Lane 2: a panicking upgrade (3 tries) and a hanging one (2 tries, power-cycled by the harness). */
async function failingTrials(): Promise<void> {
  const panicky = await storeImage(dir, 'panicky', layout);
  const store = await storeFingerprint(panicky);
  await ok(['upgrade', panicky, await bundle(dir, '2.0.0', layout, 'test.panic=before-ready panic.delay=0'), '--quiet']);
  await withMachine({ image: panicky }, async (m) => {
    for (let i = 1; i <= 3; i++) {
      await m.waitFor(new RegExp(`^bank B: on trial, try ${i} of 3$`), { timeoutMs: BOOT_MS });
      await m.waitFor(/panic: test\.panic=before-ready/, { timeoutMs: BOOT_MS });
    }
    await m.waitFor(/^bank B: tries exhausted, marked invalid$/, { timeoutMs: BOOT_MS });
    await m.waitFor(/^bankforge: ready version=1\.0\.0 bank=A /, { timeoutMs: BOOT_MS });
  });
  const s = await status(panicky);
  assert.is(s.next, 'A');
  assert.is(bankOf(s, 'B').bootstate, 'invalid');
  assert.is(bankOf(s, 'B').reason, 'tries exhausted');
  assert.match((await cli(['status', panicky])).stdout, /^bank B \(altbootbank\): invalid, version 2\.0\.0, updated 2\n  last: tries exhausted; booted 3 times on trial without a mark-good .*; detail: no tries left: never marked good$/m);
  assert.equal(await storeFingerprint(panicky), store);

  const hangs = await storeImage(dir, 'hangs', layout);
  await ok(['upgrade', hangs, await bundle(dir, '2.0.0', layout, 'test.hang=before-ready'), '--tries', '2', '--quiet']);
  await withMachine({ image: hangs }, async (m) => {
    for (let i = 1; i <= 2; i++) {
      await m.waitFor(new RegExp(`^bank B: on trial, try ${i} of 2$`), { timeoutMs: BOOT_MS });
      await m.waitFor(/^test: hanging before ready/, { timeoutMs: BOOT_MS });
      await m.powerCycle(); // the watchdog
    }
    await m.waitFor(/^bank B: tries exhausted, marked invalid$/, { timeoutMs: BOOT_MS });
    await m.waitFor(/^bankforge: ready version=1\.0\.0 bank=A /, { timeoutMs: BOOT_MS });
  });
  const h = bankOf(await status(hangs), 'B');
  assert.is(h.reason, 'tries exhausted');
  assert.equal(h.history.slice(0, 4).map((e) => e.event), ['invalid', 'try', 'try', 'installed']);
  assert.equal(await storeFingerprint(hangs), store);
}

const lanes = { forward: forwardAndBack(), failing: failingTrials() };
// Both lanes start now and run side by side; each test awaits its own (a rejection is reported there).
lanes.forward.catch(() => undefined);
lanes.failing.catch(() => undefined);

test('A->B boots B on trial and keeps it across a power cycle; B->A; manual rollback; the store survives every step', async () => {
  assert.equal(await lanes.forward, ['A->B', 'B->A', 'rollback']);
});

test('an upgrade that panics, and one that hangs (power-cycled), are rolled back after their tries; status says why', async () => {
  await lanes.failing;
});

test.after(cleanup);
test.run();
