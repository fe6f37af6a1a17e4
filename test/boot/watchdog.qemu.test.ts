// The hardware watchdog in QEMU (TCG), through the CLI as a user runs it (docs/watchdog.md):
// an upgrade whose kernel hangs with interrupts off rolls back by itself, with no kill or power
// cycle from the test, and status names the watchdog; a healthy trial with the same watchdog is
// not reset once it is marked good, however long it runs. The two lanes run side by side.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import type { StatusReport } from '../../disk/status.js';
import { createBundle } from '../../builder/bundle/create.js';
import { DEFAULT_EPOCH } from '../../builder/build.js';
import { cli } from '../helpers/cli.js';
import { buildQuiet } from '../helpers/images.js';
import { BOOT_MS, withMachine } from '../helpers/machine.js';
import { scratch } from '../helpers/tools.js';

const { dir, cleanup } = await scratch('bankforge-watchdog-');

/** Seconds a trial may run before it is marked good: short, so that the test is too. */
const HANG_WATCHDOG = 8;
/** The healthy lane's: room for a slow kernel on a loaded machine, still well inside the wait below. */
const HEALTHY_WATCHDOG = 15;

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  assert.is(r.exitCode, 0, `bankforge ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function upgraded(name: string, kernelopt: string, watchdog: number, tries: number): Promise<string> {
  const img = join(dir, `${name}.img`);
  await buildQuiet({ layout: 'small', out: img, version: '1.0.0', bootTimeout: 0 });
  const bfb = join(dir, `${name}.bfb`);
  await createBundle({ version: '2.0.0', layout: 'small', out: bfb, kernelopt, bootTimeout: 0, watchdog, epoch: DEFAULT_EPOCH });
  await ok(['upgrade', img, bfb, '--tries', String(tries), '--quiet']);
  return img;
}

const bankB = async (img: string) => (JSON.parse(await ok(['status', img, '--json'])) as StatusReport).banks.find((b) => b.bank === 'B')!;

async function hangingTrial(): Promise<void> {
  const img = await upgraded('hangs', 'test.hang=before-ready', HANG_WATCHDOG, 2);
  await withMachine({ image: img }, async (m) => {
    for (let i = 1; i <= 2; i++) {
      await m.waitFor(new RegExp(`^bank B: on trial, try ${i} of 2$`), { timeoutMs: BOOT_MS });
      await m.waitFor(`watchdog: armed, ${HANG_WATCHDOG} s until bank B is marked good`, { timeoutMs: BOOT_MS });
      await m.waitFor(/^test: hanging before ready \(test\.hang=before-ready\), interrupts off$/, { timeoutMs: BOOT_MS });
      // Nothing from the test here: the watchdog resets the machine, and the loader says so.
      await m.waitFor(/^watchdog: the last reset was the watchdog's$/, { timeoutMs: BOOT_MS });
    }
    await m.waitFor(/^bank B: watchdog, marked invalid$/, { timeoutMs: BOOT_MS });
    await m.waitFor(/^bankforge: ready version=1\.0\.0 bank=A /, { timeoutMs: BOOT_MS });
  });
  const b = await bankB(img);
  assert.is(b.bootstate, 'invalid');
  assert.is(b.reason, 'watchdog');
  assert.is(b.detail, 'watchdog reset in its last try: never marked good');
  // The second try's record already said why the first one ended.
  assert.equal(b.history.slice(0, 3).map((h) => `${h.event}/${h.reason}`), ['invalid/watchdog', 'try/watchdog', 'try/none']);
  assert.match((await cli(['status', img])).stdout, /^bank B \(altbootbank\): invalid, version 2\.0\.0, updated 2\n  last: watchdog; the watchdog reset a hung trial boot; detail: watchdog reset in its last try: never marked good$/m);
}

async function healthyTrial(): Promise<void> {
  const img = await upgraded('healthy', '', HEALTHY_WATCHDOG, 3);
  await withMachine({ image: img }, async (m) => {
    await m.waitFor(/^bank B: on trial, try 1 of 3$/, { timeoutMs: BOOT_MS });
    await m.waitFor(`watchdog: armed, ${HEALTHY_WATCHDOG} s until bank B is marked good`, { timeoutMs: BOOT_MS });
    await m.waitFor(/^watchdog: i6300esb [0-9a-f:.]+ running \(armed by the loader\)/, { timeoutMs: BOOT_MS });
    await m.waitFor(/^bank: B marked good/, { timeoutMs: BOOT_MS });
    await m.waitFor(/^watchdog: disarmed \(mark-good reached\)$/, { timeoutMs: BOOT_MS });
    await m.waitFor(/^bankforge: ready version=2\.0\.0 bank=B /, { timeoutMs: BOOT_MS });
    // Three periods past the timeout: an armed watchdog would have reset the machine by now.
    let after = '';
    const off = m.onOutput((t) => { after += t; });
    await new Promise((r) => setTimeout(r, 3 * HEALTHY_WATCHDOG * 1000));
    off();
    assert.not.match(after, /bankforge loader|BdsDxe/, `the machine restarted after mark-good:\n${after.slice(-2000)}`);
  });
  const b = await bankB(img);
  assert.is(b.bootstate, 'valid');
  assert.is(b.reason, '');
}

const lanes = { hang: hangingTrial(), healthy: healthyTrial() };
lanes.hang.catch(() => undefined);
lanes.healthy.catch(() => undefined);

test('a trial that hangs with interrupts off is reset by the watchdog and rolled back by itself; status names the watchdog', async () => {
  await lanes.hang;
});

test('a healthy trial with the watchdog armed is marked good, disarms it and runs on past the timeout', async () => {
  await lanes.healthy;
});

test.after(cleanup);
test.run();
