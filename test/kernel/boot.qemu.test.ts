// The kernel booted by our loader under QEMU + OVMF (TCG): it marks a bank on trial good and
// prints the ready line; the test switches make it panic, fault or hang before mark-good, so
// the bank stays on trial; panic.wait holds the machine; a 4Kn disk works; a bank on trial on a
// USB stick is marked good too (xhci.c, usb_storage.c); the framebuffer console shows the text;
// an idle kernel halts instead of spinning (idle.c).
// Boots are slow (seconds each), so all of them start together in before() on a small pool.
// QEMU runs on the qemu/ Machine (qemu-boot.ts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpus } from 'node:os';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scratch } from '../helpers/tools.js';
import { cli } from '../helpers/cli.js';
import { BootState, StateEvent, encodeState, nextState, readState, STATE, type BankView } from '../../partitions/bankstate.js';
import { readPng } from './png.js';
import { readScreen, screenString } from '../../qemu/index.js';
import { boot, type BootOptions, type BootResult } from './qemu-boot.js';
import { limiter } from '../helpers/limit.js';

const VERSION = '9.9.9-ktest';
const READY = new RegExp(`^bankforge: ready version=${VERSION.replace(/\./g, '\\.')} bank=A loader_ms=\\d+ kernel_ms=\\d+$`, 'm');

interface Case {
  kernelopt: string;
  boot: BootOptions;
}

const CASES = {
  // Held at the idle line (after ready and the host's start) to see what an idle kernel costs.
  good: { kernelopt: '', boot: { until: /^idle: .*\n/m, idleMs: 3000 } },
  panic: { kernelopt: 'test.panic=before-ready panic.delay=0', boot: {} },
  pagefault: { kernelopt: 'test.fault=pagefault panic.delay=0', boot: {} },
  divide: { kernelopt: 'test.fault=divide panic.wait=1', boot: { until: /waiting forever/, settleMs: 1500, screenshot: 'panic.png' } },
  hang: { kernelopt: 'test.hang=before-ready', boot: { until: /hanging before ready/, settleMs: 1500 } },
  fourk: { kernelopt: '', boot: { sectorSize: 4096, until: /^bankforge: ready .*\n/m } },
  usb: { kernelopt: '', boot: { usb: true, until: /^bankforge: ready .*\n/m } },
} satisfies Record<string, Case>;
type Name = keyof typeof CASES;

interface Run { result: BootResult; image: string; before: BankView; after: BankView }

let dir: string;
let cleanup: () => Promise<void>;
let runs: Record<Name, Promise<Run>>;

interface Part { name: string; offset: number; size: number }

async function bankAreaOffset(image: string): Promise<number> {
  const manifest = JSON.parse(await readFile(image.replace(/\.img$/, '.manifest.json'), 'utf8')) as { partitions: Part[] };
  const p = manifest.partitions.find((x) => x.name === 'bootbank')!;
  return p.offset + p.size - STATE.areaSize;
}

async function readBankA(image: string): Promise<BankView> {
  const fh = await open(image, 'r');
  try {
    const area = Buffer.alloc(STATE.areaSize);
    await fh.read(area, 0, area.length, await bankAreaOffset(image));
    const v = readState(area.subarray(0, STATE.recordSize), area.subarray(STATE.slotSize, STATE.slotSize + STATE.recordSize));
    if (!v) throw new Error(`${image}: bank A has no valid state`);
    return v;
  } finally {
    await fh.close();
  }
}

/** Put bank A on trial as an upgrade leaves it: new, all tries left, written as the next copy. */
async function makeBankANew(image: string): Promise<BankView> {
  const v = await readBankA(image);
  const next = nextState(v);
  next.bootstate = BootState.New;
  next.triesLeft = next.triesMax;
  const fh = await open(image, 'r+');
  try {
    await fh.write(encodeState(next), 0, STATE.recordSize, (await bankAreaOffset(image)) + (v.currentSlot ^ 1) * STATE.slotSize);
  } finally {
    await fh.close();
  }
  return readBankA(image);
}

async function run(name: Name): Promise<Run> {
  const c: Case = CASES[name];
  const image = join(dir, `${name}.img`);
  const args = ['build', '--layout', 'small', '--out', image, '--version', VERSION, '--boot-timeout', '0', '--kernelopt', c.kernelopt, '--quiet'];
  if (c.boot.sectorSize) args.push('--sector-size', String(c.boot.sectorSize));
  const b = await cli(args);
  if (b.exitCode !== 0) throw new Error(`bankforge build failed: ${b.stderr}`);
  const before = await makeBankANew(image);
  const opts = { ...c.boot, ...(c.boot.screenshot ? { screenshot: join(dir, c.boot.screenshot) } : {}) };
  const result = await boot(image, opts);
  return { result, image, before, after: await readBankA(image) };
}

/** Start every case now, at most `n` QEMUs at a time. */
function startAll(n: number): Record<Name, Promise<Run>> {
  const names = Object.keys(CASES) as Name[];
  const slot = limiter(n);
  const out = {} as Record<Name, Promise<Run>>;
  for (const name of names) {
    out[name] = slot(() => run(name));
    out[name].catch(() => undefined);   // awaited (and reported) by the test that owns it
  }
  return out;
}

test.before(async () => {
  ({ dir, cleanup } = await scratch('bankforge-kboot-'));
  runs = startAll(Math.max(2, cpus().length));
});
test.after(async () => {
  await Promise.allSettled(Object.values(runs));
  await cleanup();
});

function kernelLog(r: Run): string {
  const s = r.result.serial;
  const i = s.indexOf('bankforge kernel:');
  return i < 0 ? s : s.slice(i);
}

test('a bank on trial: the kernel marks it good, then prints the ready line once', async () => {
  const r = await runs.good;
  const log = kernelLog(r);
  assert.is(r.before.state.bootstate, BootState.New);
  assert.match(log, READY, r.result.serial);
  assert.is(log.match(/bankforge: ready/g)!.length, 1);
  assert.match(log, /^bank: A is trying, tries 2\/3/m, log);
  assert.match(log, /^bank: A marked good: seq \d+ in slot \d$/m, log);
  assert.ok(log.indexOf('marked good') < log.indexOf('bankforge: ready'));
  const s = r.after.state;
  assert.is(s.bootstate, BootState.Valid);
  assert.is(s.triesLeft, s.triesMax);
  assert.is(s.seq, r.before.state.seq + 2, 'the loader spent a try, the kernel marked good');
  assert.is(s.history[0]!.event, StateEvent.Good);
  assert.is(s.history[1]!.event, StateEvent.Try);
  assert.is(r.after.currentSlot, r.before.currentSlot, 'two writes: back in the same slot');
});

test('an idle kernel halts between local APIC timer ticks: QEMU uses under a tenth of a core', async () => {
  const r = await runs.good;
  const log = kernelLog(r);
  assert.match(log, /^idle: halting between 10 ms ticks of the local APIC timer \((?:xAPIC|x2APIC)\)$/m, log);
  // A kernel that spins takes all the CPU it is given: 3 s in 3 s alone, still 0.6 s or more
  // with ten processes running on two cores. Halting, it took 0.05 s in 3 s.
  assert.ok(r.result.idleCpuMs !== undefined && r.result.idleCpuMs < 300, `QEMU used ${r.result.idleCpuMs} ms of CPU in 3000 ms at idle`);
});

test('the framebuffer shows the kernel log console: a panic report, read back cell by cell with the kernel font', async () => {
  await runs.divide;
  const img = await readPng(join(dir, 'panic.png'));
  assert.ok(img.width >= 640 && img.height >= 480, `${img.width}x${img.height}`);
  const s = readScreen(img);
  const text = s.text.join('\n');
  assert.is(s.unknown, 0, `every cell is a glyph of kernel/font.c:\n${screenString(s)}`);
  assert.match(text, /bankforge kernel: version 9\.9\.9-ktest, bank A, framebuffer \d+x\d+/);
  assert.match(text, /panic: exception 0: #DE divide error, error code 0x0/);
  assert.match(text, /panic: waiting forever \(panic\.wait=1\)/);
  // The log console is grey text on black, whatever the DCUI's colours are.
  const colours = new Set(s.cells.flat().flatMap((c) => [c.bg, ...(c.fg ? [c.fg] : [])]));
  assert.equal([...colours].sort(), ['#000000', '#c8c8c8']);
});

test('test.panic=before-ready: cause and backtrace on the console, reset, bank left on trial', async () => {
  const r = await runs.panic;
  const log = kernelLog(r);
  assert.ok(r.result.exited, `QEMU should have been reset (and exited with -no-reboot):\n${r.result.serial}`);
  assert.match(log, /^panic: test\.panic=before-ready$/m, log);
  assert.match(log, /^backtrace:\n( {2}[0-9a-f]{16}\n)+/m, log);
  assert.match(log, /^panic: resetting in 0 s$/m);
  assert.not.match(log, /bankforge: ready/);
  assert.not.match(log, /^bank: [AB] marked good/m);
  assert.is(r.after.state.bootstate, BootState.Trying);
  assert.is(r.after.state.triesLeft, r.before.state.triesMax - 1);
});

test('test.fault=pagefault: the IDT reports #PF with CR2, the registers and a backtrace, then resets', async () => {
  const r = await runs.pagefault;
  const log = kernelLog(r);
  assert.ok(r.result.exited, r.result.serial);
  assert.match(log, /^panic: exception 14: #PF page fault, error code 0x0$/m, log);
  assert.match(log, /^page fault at 00007ff000000000: page not present, read, kernel mode$/m);
  for (const reg of ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8 ', 'r9 ', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'rflags', 'cr2'])
    assert.match(log, new RegExp(`(^| )${reg} +[0-9a-f]{16}`, 'm'), reg);
  assert.match(log, /cr2 00007ff000000000 cs 0008 ss 0010/);
  assert.match(log, /^backtrace:\n {2}0000000001[0-9a-f]{6}\n/m);
  assert.is(r.after.state.bootstate, BootState.Trying);
});

test('test.fault=divide with panic.wait=1: #DE reported, and the machine waits instead of resetting', async () => {
  const r = await runs.divide;
  const log = kernelLog(r);
  assert.match(log, /^panic: exception 0: #DE divide error, error code 0x0$/m, log);
  assert.match(log, /^panic: waiting forever \(panic.wait=1\)$/m);
  assert.not.ok(r.result.exited, 'QEMU reset although panic.wait=1');
  assert.is(r.after.state.bootstate, BootState.Trying);
});

test('test.hang=before-ready: no ready line, no mark-good', async () => {
  const r = await runs.hang;
  const log = kernelLog(r);
  assert.match(log, /^test: hanging before ready/m, log);
  assert.not.match(log, /bankforge: ready|^bank: [AB] marked good|panic/m);
  assert.is(r.after.state.bootstate, BootState.Trying);
});

test('a 4Kn virtio disk: the driver uses 4096-byte blocks and marks the bank good', async () => {
  const r = await runs.fourk;
  const log = kernelLog(r);
  assert.match(log, /^blk: virtio-blk [0-9a-f:.]+: \d+ blocks of 4096 bytes/m, log);
  assert.match(log, /^bank: A marked good/m, log);
  assert.match(log, READY);
  assert.is(r.after.state.bootstate, BootState.Valid);
});

test('a USB boot disk: the kernel drives the stick and marks the bank on trial good', async () => {
  const r = await runs.usb;
  const log = kernelLog(r);
  assert.match(log, /^bootdisk: boot disk is usb-storage xhci [0-9a-f:.]+ port \d+ lun 0$/m, log);
  assert.match(log, /^bank: A marked good/m, log);
  assert.match(log, READY);
  assert.is(r.after.state.bootstate, BootState.Valid);
});

test.run();
