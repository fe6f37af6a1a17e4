// Benchmark: `bankforge upgrade IMAGE BUNDLE` (one bank of the default image) against the floor
// any upgrade pays: `dd conv=fsync` writing the same number of bytes into a copy of the same
// image, plus as many more fsyncs as the upgrade makes (each a one-sector dd with conv=fsync, as
// the upgrade's state writes are). Timed twice: as a whole process (what a user waits for, Node's
// own start-up of `node -e 0` included, which alone is several times the floor here), and as the
// upgrade() call in this process, its modules already loaded (what the upgrade's own work costs).
// What the upgrade writes and flushes is counted first, in-process, through the same wrapper the
// power-cut harness uses; that first call is also reported, as the cold in-process time. Each run
// starts from a fresh sparse copy of the built image; each round runs the three and `node -e 0` in a
// fresh random order.
// Run: npm run build && node dist/bench/upgrade.js

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from '../builder/build.js';
import { createBundle } from '../builder/bundle/create.js';
import { upgrade } from '../disk/upgrade/upgrade.js';
import type { BlockDevice } from '../disk/device.js';
import { PACKAGE_ROOT } from '../support/package-info.js';
import { NODE_FLOOR, ratioLine, shuffled, timeCommand } from './timing.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const BIN = join(PACKAGE_ROOT, 'bin', 'bankforge.js');
const quiet = { step() {}, done() {} };

/** Counts the bytes written and the flushes of a device, passing everything through. */
function counting(counts: { bytes: number; writes: number; flushes: number }) {
  return (dev: BlockDevice): BlockDevice => ({
    get name() { return dev.name; },
    get size() { return dev.size; },
    read: (o, l) => dev.read(o, l),
    write: async (o, d) => { counts.bytes += d.length; counts.writes++; await dev.write(o, d); },
    flush: async () => { counts.flushes++; await dev.flush(); },
    close: () => dev.close(),
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeCall(run: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const work = await mkdtemp(join(tmpdir(), 'bankforge-bench-upgrade-'));
try {
  const image = join(work, 'esxi.img');
  await build({ out: image, version: '1.0.0', progress: quiet });
  const bundle = join(work, '2.0.0.bfb');
  await createBundle({ version: '2.0.0', out: bundle, kernelopt: '', bootTimeout: 3, epoch: 946684800 });
  const target = join(work, 'target.img');
  // A sparse copy of the untouched image each time, synced, so no timed fsync flushes the copy.
  const fresh = async () => { await execa('cp', ['--sparse=always', image, target]); await execa('sync', [target]); };

  const counts = { bytes: 0, writes: 0, flushes: 0 };
  await fresh();
  const cold = await timeCall(() => upgrade({ target, bundle, tries: 3, force: false, allowUnverified: true, wrap: counting(counts) }));
  const sectors = Math.max(0, counts.flushes - 1);
  // The same bytes in one dd with one fsync at the end, then one more one-sector dd + fsync per extra flush.
  const payload = join(work, 'payload.bin');
  await writeFile(payload, Buffer.alloc(counts.bytes, 0x5a));
  const ddScript = [
    `dd if=${payload} of=${target} bs=1M conv=notrunc,fsync status=none`,
    ...Array.from({ length: sectors }, (_, i) => `dd if=${payload} of=${target} bs=512 count=1 seek=${i} conv=notrunc,fsync status=none`),
  ].join(' && ');

  const ours: number[] = [], inProcess: number[] = [], dd: number[] = [], nodes: number[] = [];
  // In the same rounds, in a fresh order each (timing.ts, shuffled): on a shared machine Node's
  // start-up alone swings by a factor of two.
  const steps = [
    async () => { ours.push(await timeCommand(BIN, ['upgrade', target, bundle, '--allow-unverified', '--quiet'], { runs: 1, before: fresh })); },
    async () => { await fresh(); inProcess.push(await timeCall(() => upgrade({ target, bundle, tries: 3, force: false, allowUnverified: true }))); },
    async () => { dd.push(await timeCommand('sh', ['-c', ddScript], { runs: 1, before: fresh })); },
    async () => { nodes.push(await timeCommand(...NODE_FLOOR, { runs: 1 })); },
  ];
  for (let i = 0; i < RUNS; i++) {
    for (const step of shuffled(steps)) await step();
  }
  const node = median(nodes);
  const floor = `dd conv=fsync (${counts.bytes} B) + ${sectors} fsync`;
  console.log(`upgrade of one bank of the default image: ${counts.bytes} bytes in ${counts.writes} writes, ${counts.flushes} flushes; median of ${RUNS}, in a random order each round`);
  console.log(`${'bankforge upgrade (whole process)'.padEnd(34)} ${median(ours).toFixed(3)} s   (${(median(ours) - node).toFixed(3)} s above node -e 0)`);
  console.log(ratioLine(floor, median(ours), median(dd), 2));
  console.log(`${'upgrade() in-process, warm'.padEnd(34)} ${median(inProcess).toFixed(3)} s   (first call, cold: ${cold.toFixed(3)} s)`);
  console.log(ratioLine(floor, median(inProcess), median(dd), 2).replace('bankforge/', 'upgrade()/'));
  console.log(`floor: node -e 0 (started as bankforge is) ${node.toFixed(3)} s`);
} finally {
  await rm(work, { recursive: true, force: true });
}
