// `bankforge build --format`: gz and xz that decompress to the image, qcow2 and vmdk that qemu-img
// finds identical to it and that boot in QEMU, and a .bmap that bmaptool accepts and that maps
// what `bmaptool create` maps.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BmapError, parseBmap } from '../../builder/outputs/bmap.js';
import { cli } from '../helpers/cli.js';
import { mustRun, scratch, tool } from '../helpers/tools.js';
import { BOOT_MS, withMachine } from '../helpers/machine.js';

const { dir, cleanup } = await scratch('bankforge-outputs-');
const image = join(dir, 'small.img');
const built = await cli(['build', '--layout', 'small', '--out', image, '--boot-timeout', '0', '--format', 'raw,gz,xz', '--format', 'qcow2,vmdk,bmap']);
const manifest = JSON.parse(await readFile(join(dir, 'small.manifest.json'), 'utf8'));

test('build --format writes every output and names them', () => {
  assert.is(built.exitCode, 0, built.stderr);
  assert.match(built.stderr, /wrote .*small\.img\.gz, .*small\.img\.xz, .*small\.qcow2, .*small\.vmdk, .*small\.img\.bmap/);
});

test('gz and xz decompress to the image the manifest describes', async () => {
  for (const [cmd, file] of [['gzip', `${image}.gz`], ['xz', `${image}.xz`]]) {
    const sum = await mustRun('sh', ['-c', `${cmd} -dc ${file} | sha256sum`]);
    assert.is(sum.split(' ')[0], manifest.image.sha256, `${cmd} -dc ${file}`);
  }
});

test('qcow2 and vmdk hold the same disk as the raw image (qemu-img compare)', async () => {
  for (const [fmt, file] of [['qcow2', join(dir, 'small.qcow2')], ['vmdk', join(dir, 'small.vmdk')]]) {
    assert.match(await mustRun('qemu-img', ['info', '--output=json', file]), new RegExp(`"format": "${fmt}"`));
    const r = await tool('qemu-img', ['compare', '-f', 'raw', '-F', fmt, image, file]);
    assert.is(r.exitCode, 0, r.all);
    assert.match(r.stdout, /Images are identical/);
  }
});

test('the qcow2 and the vmdk boot to the ready line', async () => {
  // Machine knows raw and qcow2 (qemu/disk.ts); the vmdk is booted through a qcow2 overlay whose
  // backing file it is, so QEMU's vmdk driver reads every sector the boot needs from it.
  const overlay = join(dir, 'vmdk-overlay.qcow2');
  await mustRun('qemu-img', ['create', '-f', 'qcow2', '-F', 'vmdk', '-b', join(dir, 'small.vmdk'), overlay]);
  await Promise.all([join(dir, 'small.qcow2'), overlay].map(async (disk) => {
    await withMachine({ image: disk, snapshot: true }, (m) => m.waitFor(/^bankforge: ready /, { timeoutMs: BOOT_MS }));
  }));
});

test('the .bmap maps exactly what bmaptool create maps, with the same checksums, and bmaptool checks it', async () => {
  const ours = parseBmap(await readFile(`${image}.bmap`, 'utf8'), 'ours');
  await mustRun('bmaptool', ['create', '-o', join(dir, 'theirs.bmap'), image]);
  const theirs = parseBmap(await readFile(join(dir, 'theirs.bmap'), 'utf8'), 'theirs.bmap');
  assert.equal(ours, theirs);
  // A changed range no longer matches the file checksum: bmaptool and our parser both refuse it.
  const text = await readFile(`${image}.bmap`, 'utf8');
  const bad = join(dir, 'bad.bmap');
  await writeFile(bad, text.replace(/> (\d+)-(\d+) </, (_, a: string, b: string) => `> ${a}-${Number(b) + 1} <`));
  assert.throws(() => parseBmap(text.replace(/> (\d+)-(\d+) </, (_, a: string, b: string) => `> ${a}-${Number(b) + 1} <`), 'bad.bmap'), (e: Error) => e instanceof BmapError && /BmapFileChecksum/.test(e.message));
  const r = await tool('bmaptool', ['copy', '--bmap', bad, image, join(dir, 'copy.img')]);
  assert.is.not(r.exitCode, 0);
  assert.match(r.all, /checksum mismatch for bmap file/);
});

test('an unknown format is a usage error, before anything is built', async () => {
  const r = await cli(['build', '--layout', 'small', '--out', join(dir, 'never.img'), '--format', 'raw,iso']);
  assert.is(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, /--format iso: unknown format; expected a comma-separated list of raw, gz, xz, qcow2, vmdk, bmap/);
  assert.is(await readFile(join(dir, 'never.img')).catch(() => 'absent'), 'absent');
});

test.after(cleanup);
test.run();
