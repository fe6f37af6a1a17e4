// One QEMU boot of the loader with the test kernel (the end-to-end suite lives elsewhere): bank B
// is newer but its kernel does not match SHA256SUMS, so the loader spends B's try, finds the
// mismatch, marks B invalid with the reason on disk, falls back to bank A and hands over.
// The image is made with sgdisk + mkfs.vfat + mtools so this test does not depend on the builder.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile, truncate, open, readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { scratch, mustRun } from '../helpers/tools.js';
import { compileLoader } from '../../builder/pipeline/compile.js';
import { Machine } from '../../qemu/index.js';
import { buildHost, buildTestKernel, host, closeHosts } from './build.js';

const MiB = 1024 * 1024;
const { dir, cleanup } = await scratch('bankforge-loader-boot-');

/** A FAT volume file holding `files`, `bytes` long. */
async function fat(name: string, bytes: number, fat16: boolean, files: Record<string, Buffer>, dirs: string[] = []): Promise<string> {
  const img = join(dir, name);
  await mustRun('mkfs.vfat', [...(fat16 ? ['-F', '16'] : []), '-C', img, String(bytes / 1024)]);
  for (const d of dirs) await mustRun('mmd', ['-i', img, `::/${d}`]);
  for (const [to, data] of Object.entries(files)) {
    const src = join(dir, `src-${to.replace(/\//g, '_')}`);
    await writeFile(src, data);
    await mustRun('mcopy', ['-i', img, src, `::/${to}`]);
  }
  return img;
}

async function place(disk: string, offset: number, path: string): Promise<void> {
  const data = await readFile(path);
  const fh = await open(disk, 'r+');
  await fh.write(data, 0, data.length, offset);
  await fh.close();
}

/** Boot `disk` until a serial line matches `until`; the serial lines, terminal escapes removed. */
async function boot(disk: string, until: RegExp, ms: number): Promise<string> {
  const m = await Machine.start({ image: disk });
  try {
    await m.waitFor(until, { timeoutMs: ms });
  } finally {
    await m.kill();
  }
  return m.lastLines(m.lines.length + 1).join('\n');   // the matched line may still lack its newline
}

test('a newer bank that fails verification is marked invalid and the other bank boots', async () => {
  const { bin } = await buildHost();
  const loader = (await compileLoader()).path;
  const kernel = await readFile(await buildTestKernel());
  const disk = join(dir, 'disk.img');
  await writeFile(disk, '');
  await truncate(disk, 32 * MiB);
  await mustRun('sgdisk', ['-o', '-n', '1:1M:+4M', '-t', '1:EF00', '-n', '2:5M:+10M', '-t', '2:0700', '-n', '3:15M:+10M',
    '-t', '3:0700', '-n', '4:25M:+4M', '-t', '4:9D275380-40AD-11DB-BF97-000C2911D1B8', disk]);
  await place(disk, 1 * MiB, await fat('esp.fat', 4 * MiB, false, { 'EFI/BOOT/BOOTX64.EFI': await readFile(loader) }, ['EFI', 'EFI/BOOT']));
  const module = Buffer.from('module bytes\n');
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  for (const [bank, start, build] of [['A', 5, '1.0.0'], ['B', 15, '2.0.0']] as const) {
    const cfg = `bootstate=0\ntitle=t\ntimeout=0\nkernel=kernel.elf\nkernelopt=bank=${bank}\nmodules=m.bin\nbuild=${build}\nupdated=1\n`;
    const sums = `${sha(kernel)}  kernel.elf\n${sha(module)}  m.bin\n`;
    // Bank B's kernel differs from what its SHA256SUMS says.
    const k = bank === 'B' ? Buffer.concat([kernel, Buffer.from('x')]) : kernel;
    const vol = await fat(`${bank}.fat`, 10 * MiB - 8192, true, { 'boot.cfg': Buffer.from(cfg), SHA256SUMS: Buffer.from(sums), 'kernel.elf': k, 'm.bin': module });
    await place(disk, start * MiB, vol);
    // The state record in slot 0 of the last 8 KiB: A valid (updated 1), B new (updated 2).
    const rec = join(dir, `${bank}.rec`);
    await mustRun(bin, ['state', rec, bank, bank === 'A' ? '0' : '1', '3', '3', bank === 'A' ? '1' : '2', build]);
    await place(disk, (start + 10) * MiB - 8192, rec);
  }
  const log = await boot(disk, /test-kernel: halted|no bootable bank/, 240_000);
  const lines = log.split('\n').filter((l) => /^(bankforge|bank |booting|starting|test-kernel)/.test(l));
  const want = [
    /^bankforge loader \S+$/,
    /^bank A: partition 2, valid, updated 1, tries 3\/3, build 1\.0\.0$/,
    /^bank B: partition 3, new, updated 2, tries 3\/3, build 2\.0\.0$/,
    /^bank B: on trial, try 1 of 3$/,
    /^booting bank B \(on trial, updated 2, build 2\.0\.0\)$/,
    /^bank B: kernel\.elf: sha256 mismatch \(verification failed\), marked invalid$/,
    /^booting bank A \(valid, updated 1, build 1\.0\.0\)$/,
    /^starting kernel at 1000000: 1 modules, command line "bank=A"$/,
    /^test-kernel: entered, interrupts off, direction flag clear/,
    /^test-kernel: boot info ok, bank A, bootstate 0, version "1\.0\.0"$/,
    /^test-kernel: cmdline "bank=A"$/,
    /^test-kernel: disk virtio, 512-byte sectors, 65536 sectors/,
    /^test-kernel: bank A 10240\.\.30719, bank B 30720\.\.51199, coredump 51200\.\.59391$/,
    /^test-kernel: memory \d+ regions sorted, usable \d+ MiB/,
    /^test-kernel: framebuffer \d+x\d+ pitch \d+ format [12] at [0-9a-f]+$/,
    /^test-kernel: acpi rsdp at [0-9a-f]+ \(RSD PTR\)$/,
    /^test-kernel: 1 modules$/,
    /^test-kernel: module m\.bin, 13 bytes at [0-9a-f]+$/,
    /^test-kernel: tsc \d+ Hz/,
    /^test-kernel: halted$/,
  ];
  assert.is(lines.length, want.length, log);
  want.forEach((re, i) => assert.match(lines[i]!, re, log));
  // Each line once on the serial line: the firmware's ConOut mirror must not double it.
  assert.is(log.split('\n').filter((l) => l.startsWith('bankforge loader')).length, 1, log);

  const a = await host(bin, ['readstate', disk, String(15 * MiB - 8192)]);
  assert.equal(a, { present: true, slot: 0, seq: 1, bank: 0, bootstate: 0, triesLeft: 3, reason: 0, detail: '' });
  // B: seq 1 new (slot 0) -> seq 2 try (slot 1) -> seq 3 invalid (slot 0).
  const b = await host(bin, ['readstate', disk, String(25 * MiB - 8192)]);
  assert.equal(b, { present: true, slot: 0, seq: 3, bank: 1, bootstate: 3, triesLeft: 2, reason: 2, detail: 'kernel.elf: sha256 mismatch' });
});

test.after(async () => { await closeHosts(); await cleanup(); });
test.run();
