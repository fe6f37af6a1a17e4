// Core dumps end to end in QEMU (TCG): kernels made to panic, page-fault and divide by zero
// write a dump that `bankforge coredump` reads back with the right reason and the function
// that failed (symbolized from the kernel ELF that `bankforge build` keeps beside the image);
// a dump cut short by a power cut reads as incomplete; dumps from bank A and bank B are told
// apart; the next boot announces waiting dumps until --clear. Dumps on a USB stick are
// test/kernel/usb.qemu.test.ts's.
// Boots are slow, so every scenario starts in before() and they run two at a time.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Bank } from '../../partitions/bankstate.js';
import { limiter } from '../helpers/limit.js';
import { scratch } from '../helpers/tools.js';
import { cli } from '../helpers/cli.js';
import { changeBank } from '../helpers/images.js';
import { BOOT_MS, withMachine } from '../helpers/machine.js';

/** The boot-time report, whole (waitFor also matches a line still being printed). */
const REPORT = /^coredump: .*(read with bankforge coredump|no dumps waiting)$/;
const WRITTEN = /^coredump: written to slot (\d+) \(seq (\d+), (\d+) bytes\)$/;

interface Frame { function: string; location?: string }
interface JsonDump {
  seq: number; slot: number; status: 'complete' | 'incomplete'; problem?: string; cleared: boolean;
  header: { bank: string; build: string; reason: string; cause: string; faultAddress: string };
  backtrace?: { address: string; frames: Frame[] }[];
  symbols?: { elf: string; tool: string };
  log?: string;
}

let dir: string;
let cleanup: () => Promise<void>;

async function image(name: string, kernelopt: string, version = '1.0.0'): Promise<string> {
  const out = join(dir, `${name}.img`);
  const r = await cli(['build', '--layout', 'small', '--out', out, '--version', version, '--boot-timeout', '0', '--kernelopt', kernelopt, '--quiet']);
  if (r.exitCode !== 0) throw new Error(`bankforge build failed: ${r.stderr}`);
  return out;
}

async function dumps(img: string, ...extra: string[]): Promise<JsonDump[]> {
  const r = await cli(['coredump', img, '--json', ...extra]);
  assert.is(r.exitCode, 0, r.stderr);
  return (JSON.parse(r.stdout) as { dumps: JsonDump[] }).dumps;
}

/** One failure, one boot: the kernel writes the dump and says where; then the power goes. */
async function crash(name: string, kernelopt: string): Promise<{ img: string; written: string }> {
  const img = await image(name, kernelopt);
  const written = await withMachine({ image: img }, async (m) => (await m.waitFor(WRITTEN, { timeoutMs: BOOT_MS }))[0], 'kill');
  return { img, written };
}

/** At most two QEMUs at once (two cores). */
const slot = limiter(2);

type Scenario = ReturnType<typeof start>;
let runs: Scenario;

function start() {
  const all = {
    pagefault: slot(() => crash('pagefault', 'test.fault=pagefault panic.delay=0')),
    divide: slot(() => crash('divide', 'test.fault=divide panic.delay=0')),
    panic: slot(() => crash('panic', 'test.panic=before-ready panic.delay=0')),
    // A slow dump, and the power cut as soon as it has begun.
    cut: slot(async () => {
      const img = await image('cut', 'test.panic=before-ready test.coredump_slow=1 panic.delay=0');
      await withMachine({ image: img }, async (m) => {
        await m.waitFor(/^coredump: writing slot 0 \(seq 1, \d+ bytes\)$/, { timeoutMs: BOOT_MS });
      }, 'kill');
      return img;
    }),
    // Bank A dies, then bank B (upgraded: a higher `updated`) boots, hears of A's dump, and dies too.
    banks: slot(async () => {
      const img = await image('banks', 'test.panic=before-ready panic.delay=0', '3.0.0');
      await withMachine({ image: img }, (m) => m.waitFor(WRITTEN, { timeoutMs: BOOT_MS }), 'kill');
      await changeBank(img, Bank.B, (s) => { s.updated = 2; });
      const second = await withMachine({ image: img }, async (m) => {
        await m.waitFor(/^booting bank B /, { timeoutMs: BOOT_MS });
        const waiting = (await m.waitFor(REPORT, { timeoutMs: BOOT_MS }))[0];
        await m.waitFor(WRITTEN, { timeoutMs: BOOT_MS });
        return waiting;
      }, 'kill');
      const before = await dumps(img);
      const cleared = await cli(['coredump', img, '--clear']);
      const after = await withMachine({ image: img, snapshot: true }, async (m) => (await m.waitFor(REPORT, { timeoutMs: BOOT_MS }))[0], 'kill');
      return { img, second, before, cleared, after };
    }),
  };
  for (const p of Object.values(all)) p.catch(() => undefined);   // awaited (and reported) by the tests
  return all;
}

test.before(async () => {
  ({ dir, cleanup } = await scratch('bankforge-coredump-boot-'));
  runs = start();
});
test.after(async () => {
  await Promise.allSettled(Object.values(runs));
  await cleanup();
});

function only(ds: JsonDump[]): JsonDump {
  assert.is(ds.length, 1, JSON.stringify(ds.map((d) => [d.seq, d.status])));
  return ds[0]!;
}

function innermost(d: JsonDump): Frame | undefined {
  return d.backtrace?.[0]?.frames[0];
}

test('build keeps the kernel with debug info beside the image', async () => {
  const { img } = await runs.pagefault;
  assert.ok((await stat(`${img}.kernel.elf`)).size > 0);
});

test('a page fault: the dump says so on both consoles, names test_fault_pagefault, the address and the log', async () => {
  const { img, written } = await runs.pagefault;
  assert.match(written, /^coredump: written to slot 0 \(seq 1, \d+ bytes\)$/);
  const d = only(await dumps(img));
  assert.is(d.status, 'complete');
  assert.is(d.header.reason, 'exception 14: #PF page fault, error code 0x0');
  assert.is(d.header.faultAddress, '00007ff000000000');
  assert.is(d.header.bank, 'A');
  assert.is(d.header.build, '1.0.0');
  assert.is(innermost(d)?.function, 'test_fault_pagefault');
  assert.match(innermost(d)?.location ?? '', /^kernel\/main\.c:\d+$/);
  assert.match(d.symbols?.elf ?? '', /pagefault\.img\.kernel\.elf$/);
  assert.match(d.log ?? '', /test: page fault before ready/);
  const text = await cli(['coredump', img]);
  assert.is(text.exitCode, 0, text.stderr);
  assert.match(text.stdout, /^ {2}#0 {2}[0-9a-f]{16} {2}test_fault_pagefault at kernel\/main\.c:\d+$/m);
  assert.match(text.stdout, /page fault at 00007ff000000000: page not present, read, kernel mode/);
});

test('a divide error names test_fault_divide', async () => {
  const { img } = await runs.divide;
  const d = only(await dumps(img));
  assert.is(d.status, 'complete');
  assert.is(d.header.reason, 'exception 0: #DE divide error, error code 0x0');
  assert.is(innermost(d)?.function, 'test_fault_divide');
});

test('a panic names the function that called panic() and keeps the message', async () => {
  const { img } = await runs.panic;
  const d = only(await dumps(img));
  assert.is(d.status, 'complete');
  assert.is(d.header.cause, 'panic');
  assert.is(d.header.reason, 'test.panic=before-ready');
  assert.is(innermost(d)?.function, 'test_panic_before_ready');
});

test('a dump cut short by the power is reported as incomplete, never decoded', async () => {
  const img = await runs.cut;
  const d = only(await dumps(img));
  assert.is(d.status, 'incomplete');
  assert.match(d.problem ?? '', /cut short/);
  assert.is(d.backtrace, undefined);
  assert.is(d.header.reason, 'test.panic=before-ready');
  const text = await cli(['coredump', img]);
  assert.match(text.stdout, /^dump seq 1 in slot 0: INCOMPLETE: cut short/m);
});

test("bank A's and bank B's dumps are told apart; the next boot reports them; --clear makes them go away", async () => {
  const { second, before, cleared, after } = await runs.banks;
  assert.is(second, 'coredump: 1 dump(s) waiting, newest seq 1 (test.panic=before-ready) - read with bankforge coredump');
  assert.equal(before.map((d) => [d.seq, d.slot, d.status, d.header.bank, d.header.build]), [[1, 0, 'complete', 'A', '3.0.0'], [2, 1, 'complete', 'B', '3.0.0']]);
  assert.is(cleared.exitCode, 0, cleared.stderr);
  assert.match(cleared.stdout, /cleared 2 dump\(s\) in partition 5 \(coredump\); the next dump will be seq 3/);
  assert.is(after, 'coredump: 7 slots of 1024 KiB, no dumps waiting');
});

test.run();
