// Benchmark: the default image onto a loop device by `bankforge flash`, by `dd bs=4M conv=fsync`
// followed by `cmp`, and by `bmaptool copy` (which checks the .bmap's sha256 of everything it
// copies), in one run, whole process each, run in turn, median of runs. Then bankforge's two sync modes
// (fdatasync per 256 MiB vs O_DSYNC) in-process, on the default image and on one with ~200 MiB
// of content in the store, where syncing is what costs.
// Run as root: npm run build && node dist/bench/flash.js   (needs losetup, bmap-tools)

import { randomFillSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { build } from '../builder/build.js';
import { flash } from '../disk/flash/flash.js';
import type { SyncMode } from '../disk/flash/writer.js';
import { writeOutputs } from '../builder/outputs/write.js';
import { PACKAGE_ROOT } from '../support/package-info.js';
import { NODE_FLOOR, ratioLine, shuffled, timeCommand } from './timing.js';

const MiB = 1024 * 1024;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const quiet = { step() {}, done() {} };
const BIN = join(PACKAGE_ROOT, 'bin', 'bankforge.js');

async function buildWithBmap(out: string, layout?: string): Promise<number> {
  const r = await build({ out, version: '1.0.0', progress: quiet, ...(layout ? { layout } : {}) });
  await writeOutputs({ image: r.image, size: r.manifest.diskSize, dataRanges: r.dataRanges }, ['bmap'], () => undefined);
  return r.manifest.diskSize;
}

async function withLoop<T>(file: string, size: number, fn: (dev: string) => Promise<T>): Promise<T> {
  await writeFile(file, '');
  await truncate(file, size);
  const dev = (await execa('losetup', ['-f', '--show', file])).stdout.trim();
  try { return await fn(dev); } finally { await execa('losetup', ['-d', dev]); }
}

/** Median times of commands run in turn, in a fresh random order each round (timing.ts, shuffled), so a busy moment of the machine hits all alike. */
async function interleaved(cmds: [string, string[]][]): Promise<number[]> {
  const times: number[][] = cmds.map(() => []);
  for (let i = 0; i < RUNS; i++) {
    for (const [k, [cmd, args]] of shuffled([...cmds.entries()])) times[k]!.push(await timeCommand(cmd, args, { runs: 1 }));
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!);
}

async function syncModes(image: string, dev: string): Promise<string> {
  const out: string[] = [];
  for (const sync of ['group', 'dsync'] as SyncMode[]) {
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await flash({ image, device: dev, sync });
      times.push((performance.now() - t0) / 1000);
    }
    times.sort((a, b) => a - b);
    out.push(`${sync} ${times[Math.floor(times.length / 2)]!.toFixed(3)} s`);
  }
  return out.join(', ');
}

async function largeStoreLayout(work: string): Promise<string> {
  const store = join(work, 'store');
  await mkdir(store, { recursive: true });
  const buf = Buffer.alloc(8 * MiB);
  for (let i = 0; i < 25; i++) { randomFillSync(buf); await writeFile(join(store, `blob-${i}.bin`), buf); }
  const esxi = JSON.parse(await readFile(join(PACKAGE_ROOT, 'layouts', 'esxi.json'), 'utf8'));
  esxi.partitions.find((p: { name: string }) => p.name === 'store').contents = [{ dir: store }];
  delete esxi.$schema;
  const file = join(work, 'bench-esxi.json');
  await writeFile(file, JSON.stringify(esxi));
  return file;
}

const work = await mkdtemp(join(tmpdir(), 'bankforge-bench-flash-'));
try {
  const image = join(work, 'esxi.img');
  const size = await buildWithBmap(image);
  await withLoop(join(work, 'stick.bin'), size + 64 * MiB, async (dev) => {
    const [ours, dd, bmap] = await interleaved([
      [BIN, ['flash', image, dev, '--yes', '--quiet']],
      ['sh', ['-c', `dd if=${image} of=${dev} bs=4M conv=fsync status=none && cmp -n ${size} ${image} ${dev}`]],
      ['bmaptool', ['-q', 'copy', '--bmap', `${image}.bmap`, image, dev]],
    ]) as [number, number, number];
    console.log(`default image (${size / MiB} MiB) onto a loop device, whole process, median of ${RUNS}:`);
    console.log(`${'bankforge flash (write + verify)'.padEnd(34)} ${ours.toFixed(3)} s`);
    console.log(ratioLine('dd bs=4M conv=fsync + cmp', ours, dd, 0.2));
    console.log(ratioLine('bmaptool copy (checks sha256)', ours, bmap, 1.0));
    // The floor under any whole-process time: Node starting, and the CLI parsing its arguments.
    const node = await timeCommand(...NODE_FLOOR, { runs: RUNS });
    const help = await timeCommand(BIN, ['flash', '--help'], { runs: RUNS });
    console.log(`floor: node -e 0 (started as bankforge is) ${node.toFixed(3)} s; bankforge flash --help ${help.toFixed(3)} s`);
    console.log(`bankforge sync modes, in-process: ${await syncModes(image, dev)}`);
  });
  const big = join(work, 'big.img');
  const bigSize = await buildWithBmap(big, await largeStoreLayout(work));
  await withLoop(join(work, 'stick2.bin'), bigSize + 64 * MiB, async (dev) => {
    console.log(`~200 MiB of store content: sync modes, in-process: ${await syncModes(big, dev)}`);
    const [ours, bmap] = await interleaved([
      [BIN, ['flash', big, dev, '--yes', '--quiet']],
      ['bmaptool', ['-q', 'copy', '--bmap', `${big}.bmap`, big, dev]],
    ]) as [number, number];
    console.log(`${'bankforge flash (write + verify)'.padEnd(34)} ${ours.toFixed(3)} s`);
    console.log(ratioLine('bmaptool copy (checks sha256)', ours, bmap, 1.0));
  });
} finally {
  await rm(work, { recursive: true, force: true });
}
