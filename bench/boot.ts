// Where a boot's time goes: QEMU start -> our loader's first line -> the kernel's first line ->
// the ready line, against the floor (a trivial EFI application's first line on the same
// firmware). First, what each QEMU flag of the runner's machine costs or would save
// (bench/boot-flags.ts, the list in docs/qemu.md); last, QEMU start -> ready with the disk on
// each bus the kernel drives, next to virtio. Boots one at a time, median of five each. Run on demand:
//   npm run build && node dist/bench/boot.js

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Machine, type DiskBus } from '../qemu/index.js';
import { build } from '../builder/build.js';
import { HELLO, helloImage } from '../test/fixtures/efi-hello/image.js';
import { measureFlags } from './boot-flags.js';
import { shuffled } from './timing.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const quiet = { step() {}, done() {} };

/** The buses whose boot-to-ready is compared with virtio's. */
const BUSES: DiskBus[] = ['virtio', 'usb', 'ahci', 'nvme'];

async function timeTo(image: string, marks: RegExp[], bus: DiskBus = 'virtio'): Promise<number[]> {
  const t0 = process.hrtime.bigint();
  const m = await Machine.start({ image, snapshot: true, bus });
  try {
    const out: number[] = [];
    for (const re of marks) {
      await m.waitFor(re, { timeoutMs: 120_000 });
      out.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return out;
  } finally {
    await m.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const flags = await measureFlags(RUNS);
console.log(`QEMU start -> efi-hello's first line, median of ${RUNS} boots each, in a random order each round (TCG, virtio-blk; CPU = QEMU's user + system)`);
for (const r of flags) console.log(`  wall ${(r.ms / 1000).toFixed(2)} s  CPU ${(r.cpuMs / 1000).toFixed(2)} s (${r.cpuMs <= flags[0]!.cpuMs ? '-' : '+'}${Math.abs(r.cpuMs - flags[0]!.cpuMs).toFixed(0)} ms)  ${r.name}`);
// Issue 11's floor target: at least 0.6 s sooner than the runner's machine before it, which
// wrote OVMF's variables to a private writable flash, measured in this same run.
const before = flags.find((r) => r.name.includes('writable private copy'))!;
const sooner = before.ms - flags[0]!.ms;
console.log(`floor: ${(sooner / 1000).toFixed(2)} s sooner than the runner until 2026-11-30 (target >= 0.60 s: ${sooner >= 600 ? 'met' : 'NOT met'})`);
console.log('');

const dir = await mkdtemp(join(tmpdir(), 'bankforge-bench-boot-'));
try {
  const ours = join(dir, 'small.img');
  await build({ layout: 'small', out: ours, version: 'bench', bootTimeout: 0, progress: quiet });
  const hello = await helloImage(512);
  const floor: number[] = [], loader: number[] = [], kernel: number[] = [], ready: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    for (const which of shuffled(['floor', 'ours'] as const)) {
      if (which === 'floor') {
        floor.push((await timeTo(hello, [HELLO.com1]))[0]!);
        continue;
      }
      const [l, k, r] = await timeTo(ours, [/^bankforge loader /, /^bankforge kernel: /, /^bankforge: ready /]);
      loader.push(l!); kernel.push(k!); ready.push(r!);
    }
  }
  const s = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
  console.log(`median of ${RUNS} boots each, TCG, virtio-blk, small layout, menu timeout 0`);
  console.log(`floor: QEMU start -> efi-hello's first line      ${s(median(floor))}`);
  console.log(`QEMU start -> loader's first line                 ${s(median(loader))}`);
  console.log(`QEMU start -> kernel's first line                 ${s(median(kernel))}`);
  console.log(`QEMU start -> ready                               ${s(median(ready))}`);
  console.log(`loader's first line -> ready (our part alone)      ${(median(ready.map((r, i) => r - loader[i]!))).toFixed(0)} ms`);
  const over = median(ready) - median(floor);
  console.log(`loader + kernel above the floor: ${over.toFixed(0)} ms (target <= 100 ms: ${over <= 100 ? 'met' : 'NOT met'})`);
  // On these VMs a QEMU start lands in a fast or a slow group, ~0.3-0.6 s apart, by what the
  // boot before it left in memory (docs/qemu.md, "Why the same command line moves"), so either
  // median above can land in either group. The fastest of each image's boots is in the fast
  // group unless none of them was: printed beside the target, not instead of it.
  const fastest = (xs: number[]) => Math.min(...xs);
  console.log(`  the fastest boot of each: floor ${s(fastest(floor))}, ready ${s(fastest(ready))}: ${(fastest(ready) - fastest(floor)).toFixed(0)} ms above the floor`);

  // Per bus, the buses taking turns within each run so that a change in load hits them alike,
  // in a fresh order each run (timing.ts, shuffled).
  const perBus = new Map<DiskBus, number[]>(BUSES.map((b) => [b, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const bus of shuffled(BUSES)) perBus.get(bus)!.push((await timeTo(ours, [/^bankforge: ready /], bus))[0]!);
  }
  const virtio = median(perBus.get('virtio')!);
  console.log(`QEMU start -> ready by bus (median of ${RUNS}), ratio to virtio-blk:`);
  for (const bus of BUSES) {
    const t = median(perBus.get(bus)!);
    console.log(`  ${bus.padEnd(7)} ${s(t)}  x${(t / virtio).toFixed(2)}`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
