// Benchmark: building the ESXi layout with bankforge, with genimage, and with an sgdisk +
// mkfs.fat + mcopy pipeline, in one run, whole process each (what a CI job pays), with about
// 20 MB and about 400 MB of content in the store, run in turn. Prints each median time and
// bankforge's ratio to each. bankforge writes its manifest (a sha256 of every data block) as usual.
// Run: npm run build && node dist/bench/build.js   (needs genimage, gdisk, dosfstools, mtools)

import { mkdir, rm, writeFile, readFile } from 'node:fs/promises';
import { randomFillSync } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execa } from 'execa';
import { ratioLine, shuffled, timeCommandCpu } from './timing.js';
import { PACKAGE_ROOT } from '../support/package-info.js';

const MiB = 1024 * 1024;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

async function makeContent(dir: string, totalMiB: number): Promise<void> {
  await mkdir(join(dir, 'tools'), { recursive: true });
  const buf = Buffer.alloc(8 * MiB);
  let left = totalMiB * MiB, i = 0;
  while (left > 0) {
    const n = Math.min(left, i % 3 === 0 ? 8 * MiB : 3 * MiB + 12345);
    randomFillSync(buf, 0, n);
    await writeFile(join(dir, i % 2 ? 'tools' : '', `image-${i}.bin`), buf.subarray(0, n));
    left -= n; i++;
  }
  await writeFile(join(dir, 'README for the store.txt'), 'persistent host configuration lives here\n');
}

async function layoutWithStore(work: string, storeDir: string): Promise<string> {
  const esxi = JSON.parse(await readFile(join(PACKAGE_ROOT, 'layouts', 'esxi.json'), 'utf8'));
  esxi.partitions.find((p: { name: string }) => p.name === 'store').contents = [{ dir: storeDir }];
  delete esxi.$schema;
  const file = join(work, 'bench-esxi.json');
  await writeFile(file, JSON.stringify(esxi));
  return file;
}

function genimageConfig(storeMount: string): string {
  return `
image bootloader.vfat { vfat { label = "BOOTLOADER" extraargs = "-F 12" } size = 4M }
image bootbank.vfat { vfat { label = "BOOTBANK1" extraargs = "-F 16" files = { "boot.cfg" } } size = 48M }
image altbootbank.vfat { vfat { label = "BOOTBANK2" extraargs = "-F 16" } size = 48M }
image store.vfat { vfat { label = "STORE" extraargs = "-F 32" } mountpoint = "${storeMount}" size = 540M }
image disk.img {
  hdimage { partition-table-type = "gpt" disk-uuid = "6a0b7f4e-2c2d-4a53-9c52-6f1b1f0e1a01" }
  partition bootloader { image = "bootloader.vfat" partition-type-uuid = "U" offset = 1M }
  partition bootbank { image = "bootbank.vfat" partition-type-uuid = "F" }
  partition altbootbank { image = "altbootbank.vfat" partition-type-uuid = "F" }
  partition store { image = "store.vfat" partition-type-uuid = "F" }
  partition coredump { partition-type-uuid = "9d275380-40ad-11db-bf97-000c2911d1b8" size = 110M }
}
`;
}

/** The hand-rolled pipeline many projects use: sgdisk for the table, mkfs.fat at offsets, mcopy. */
function pipelineScript(img: string, storeDir: string, bootCfg: string): string {
  return `set -e
truncate -s 752M ${img}
sgdisk -o -n 1:1M:+4M -t 1:ef00 -n 2:0:+48M -n 3:0:+48M -n 4:0:+540M -n 5:0:+110M -t 5:9d275380-40ad-11db-bf97-000c2911d1b8 ${img} >/dev/null
mkfs.fat -F 12 -n BOOTLOADER --offset 2048 ${img} 4096 >/dev/null
mkfs.fat -F 16 -n BOOTBANK1 --offset 10240 ${img} 49152 >/dev/null
mkfs.fat -F 16 -n BOOTBANK2 --offset 108544 ${img} 49152 >/dev/null
mkfs.fat -F 32 -n STORE --offset 206848 ${img} 552960 >/dev/null
mcopy -i ${img}@@$((10240*512)) ${bootCfg} ::/boot.cfg
mcopy -s -i ${img}@@$((206848*512)) ${storeDir}/* ::/
`;
}

async function main(): Promise<void> {
  for (const tool of ['genimage', 'sgdisk', 'mkfs.fat', 'mcopy']) {
    await execa('sh', ['-c', `command -v ${tool}`]).catch(() => { throw new Error(`${tool} is missing: run sh scripts/setup.sh`); });
  }
  const work = join(tmpdir(), `bankforge-bench-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    for (const mib of [20, 400]) {
      const root = join(work, `root-${mib}`);
      const store = join(root, 'store');
      await makeContent(store, mib);
      const bootCfg = join(work, 'boot.cfg');
      await writeFile(bootCfg, 'bootstate=0\ntitle=bankforge bench\n');
      const layout = await layoutWithStore(work, store);
      await writeFile(join(work, 'genimage.cfg'), genimageConfig('/store'));
      await mkdir(join(work, 'input'), { recursive: true });
      await writeFile(join(work, 'input', 'boot.cfg'), 'bootstate=0\ntitle=bankforge bench\n');
      await writeFile(join(work, 'pipeline.sh'), pipelineScript(join(work, 'pipeline.img'), store, bootCfg));
      const runs = mib > 100 ? Math.max(3, Math.ceil(RUNS / 2)) : RUNS;

      // In turn, in a fresh random order each round (timing.ts, shuffled), so a busy moment of the
      // machine hits all alike.
      // Each tool's previous output is removed before its run, outside the timing: freeing a
      // 400 MB file costs ~0.2 s here, which a rename over the old image would otherwise charge
      // to bankforge alone (genimage's output directory is emptied beforehand either way).
      const genimageBefore = async () => { await rm(join(work, 'gtmp'), { recursive: true, force: true }); await rm(join(work, 'images'), { recursive: true, force: true }); };
      const oursBefore = async () => { for (const f of ['ours.img', 'ours.manifest.json', 'ours.img.kernel.elf']) await rm(join(work, f), { force: true }); };
      const pipelineBefore = async () => { await rm(join(work, 'pipeline.img'), { force: true }); };
      const t = [[], [], []] as { wall: number; cpu: number }[][];
      const steps = [
        async () => { t[0]!.push(await timeCommandCpu(join(PACKAGE_ROOT, 'bin', 'bankforge.js'), ['build', '--quiet', '--layout', layout, '--out', join(work, 'ours.img')], { before: oursBefore })); },
        async () => { t[1]!.push(await timeCommandCpu('genimage', ['--config', join(work, 'genimage.cfg'), '--rootpath', root, '--inputpath', join(work, 'input'), '--outputpath', join(work, 'images'), '--tmppath', join(work, 'gtmp')], { before: genimageBefore })); },
        async () => { t[2]!.push(await timeCommandCpu('sh', [join(work, 'pipeline.sh')], { before: pipelineBefore })); },
      ];
      for (let i = 0; i < runs; i++) {
        for (const step of shuffled(steps)) await step();
      }
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const [ours, genimage, pipeline] = t.map((x) => median(x.map((r) => r.wall))) as [number, number, number];
      const [oursCpu, genimageCpu, pipelineCpu] = t.map((x) => median(x.map((r) => r.cpu))) as [number, number, number];

      console.log(`\nesxi layout, ${mib} MB in the store, median of ${runs} runs, in a random order each round`);
      console.log(`${'bankforge build (manifest incl.)'.padEnd(34)} ${ours.toFixed(3)} s`);
      console.log(ratioLine('genimage', ours, genimage, mib > 100 ? 0.7 : 1.0));
      console.log(ratioLine('sgdisk+mkfs.fat+mcopy', ours, pipeline));
      console.log(`CPU (user + system): bankforge ${oursCpu.toFixed(2)} s, genimage ${genimageCpu.toFixed(2)} s (${(oursCpu / genimageCpu).toFixed(2)}x), pipeline ${pipelineCpu.toFixed(2)} s (${(oursCpu / pipelineCpu).toFixed(2)}x)`);
      await rm(root, { recursive: true, force: true });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
