// Linux payloads in the builder (docs/linux.md): build and bundle put the kernel, the initramfs
// and a boot.cfg naming them into the banks with SHA256SUMS over all of them, from options or a
// layout's "linux"; a file that is not an EFI-stub bzImage, or a payload that does not fit, is
// refused by name before anything is written. The kernel here is a synthetic bzImage header: the
// loader never runs it (test/linux/linux.qemu.test.ts boots Debian's).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_EPOCH } from '../../builder/build.js';
import { createBundle } from '../../builder/bundle/create.js';
import { readBundle } from '../../builder/bundle/read.js';
import { LAYOUTS_DIR } from '../../builder/layout/load.js';
import { parseLayout } from '../../builder/layout/parse.js';
import { parseBootCfg, parseSums } from '../../partitions/bank-files.js';
import { cli } from '../helpers/cli.js';
import { mustRun, scratch } from '../helpers/tools.js';

const { dir, cleanup } = await scratch('bankforge-linux-payload-');

/** The first KiB of an x86_64 EFI-stub bzImage, as the build checks it, then `tail`. */
function bzImage(tail: Buffer, machine = 0x8664): Buffer {
  const b = Buffer.alloc(0x400);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(0x40, 0x3c);
  b.write('PE\0\0', 0x40, 'latin1');
  b.writeUInt16LE(machine, 0x44);
  b.write('HdrS', 0x202, 'latin1');
  return Buffer.concat([b, tail]);
}
const kernel = join(dir, 'vmlinuz-test');
const initrd = join(dir, 'initrd-test');
await writeFile(kernel, bzImage(Buffer.from('kernel body')));
await writeFile(initrd, Buffer.from('an initramfs'));
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A file of a partition of the image, by mtools. */
async function bankFile(img: string, offset: number, name: string): Promise<Buffer> {
  const out = join(dir, `out-${name}-${offset}`);
  await mustRun('mcopy', ['-n', '-i', `${img}@@${offset}`, `::${name}`, out]);
  return readFile(out);
}

test('build --linux-kernel --initrd --cmdline: both banks hold vmlinuz, initrd.img and a boot.cfg naming them, all in SHA256SUMS', async () => {
  const img = join(dir, 'linux.img');
  const r = await cli(['build', '--layout', 'small', '-o', img, '-V', '1.2.0', '--boot-timeout', '0', '--linux-kernel', kernel, '--initrd', initrd, '--cmdline', 'console=ttyS0 quiet', '--json']);
  assert.is(r.exitCode, 0, r.stderr);
  const manifest = JSON.parse(r.stdout);
  for (const name of ['bootbank', 'altbootbank']) {
    const p = manifest.partitions.find((x: { name: string }) => x.name === name);
    assert.equal(p.files.map((f: { path: string }) => f.path).sort(), ['SHA256SUMS', 'boot.cfg', 'initrd.img', 'vmlinuz']);
    const cfg = await bankFile(img, p.offset, 'boot.cfg');
    assert.equal(parseBootCfg(cfg), { title: 'bankforge 1.2.0 (Linux)', build: '1.2.0', kernel: 'vmlinuz', kernelopt: 'console=ttyS0 quiet', initrd: 'initrd.img', timeout: 0, watchdog: 0, modules: [] });
    const sums = parseSums(await bankFile(img, p.offset, 'SHA256SUMS'));
    assert.equal([...sums], [['boot.cfg', sha(cfg)], ['vmlinuz', sha(await readFile(kernel))], ['initrd.img', sha('an initramfs')]]);
    assert.ok((await bankFile(img, p.offset, 'vmlinuz')).equals(await readFile(kernel)));
  }
  // No debug kernel beside the image: the banks hold no kernel.elf.
  await access(`${img}.kernel.elf`).then(() => assert.unreachable('kernel.elf kept'), () => undefined);
});

test('a layout\'s "linux" names the payload (relative to the layout file); options win; its fields are checked', async () => {
  const layout = JSON.parse(await readFile(join(LAYOUTS_DIR, 'small.json'), 'utf8'));
  delete layout.$schema;
  layout.linux = { kernel: 'vmlinuz-test', initrd: 'initrd-test', cmdline: 'from the layout' };
  const file = join(dir, 'with-linux.json');
  await writeFile(file, JSON.stringify(layout));
  const parsed = parseLayout(layout, file, 'with-linux');
  assert.equal(parsed.linux, { kernel: kernel, initrd: initrd, cmdline: 'from the layout' });
  const bundle = join(dir, 'layout.bfb');
  await createBundle({ version: '2.0.0', layout: file, out: bundle, kernelopt: '', bootTimeout: 0, epoch: DEFAULT_EPOCH });
  const b = await readBundle(bundle);
  assert.equal([...b.files.keys()], ['SHA256SUMS', 'boot.cfg', 'initrd.img', 'vmlinuz']);
  assert.is(parseBootCfg(b.files.get('boot.cfg')!).kernelopt, 'from the layout');
  assert.is(b.manifest.build.kernelopt, 'from the layout');
  await createBundle({ version: '2.0.1', layout: file, out: bundle, kernelopt: 'given', bootTimeout: 0, epoch: DEFAULT_EPOCH });
  assert.is(parseBootCfg((await readBundle(bundle)).files.get('boot.cfg')!).kernelopt, 'given');

  const bad: [unknown, RegExp][] = [
    [{ initrd: 'x' }, /linux\.kernel: required/],
    [{ kernel: '' }, /linux\.kernel: must not be empty/],
    [{ kernel: 'k', cmdline: 'a\nb' }, /linux\.cmdline: must be one line/],
    [{ kernel: 'k', modules: [] }, /linux.*modules/],
    [{ kernel: 7 }, /linux\.kernel/],
  ];
  for (const [linux, want] of bad) {
    assert.throws(() => parseLayout({ ...layout, linux }, file, 'l'), (e: Error) => want.test(e.message), JSON.stringify(linux));
  }
});

test('a file that is not an x86_64 EFI-stub bzImage is refused by name, and so is a payload that fits no bank', async () => {
  const cases: [string, Buffer, RegExp][] = [
    ['elf', Buffer.concat([Buffer.from('\x7fELF', 'latin1'), Buffer.alloc(2000)]), /no MZ header: not a PE image/],
    ['pe-only', (() => { const b = bzImage(Buffer.alloc(0)); b.write('xxxx', 0x202, 'latin1'); return b; })(), /no 'HdrS' at byte 0x202: not a bzImage/],
    ['arm64', bzImage(Buffer.alloc(0), 0xaa64), /PE machine 0xaa64, not x86_64/],
    ['tiny', Buffer.from('MZ'), /2 bytes/],
  ];
  for (const [name, data, want] of cases) {
    const k = join(dir, `k-${name}`);
    await writeFile(k, data);
    const out = join(dir, `refused-${name}.img`);
    const r = await cli(['build', '--layout', 'small', '-o', out, '--linux-kernel', k]);
    assert.is(r.exitCode, 3, `${name}: ${r.stderr}`);
    assert.match(r.stderr, want);
    assert.match(r.stderr, new RegExp(`${k}: not a Linux kernel the loader can start`));
    await access(out).then(() => assert.unreachable(`${out} written`), () => undefined);
  }
  const big = join(dir, 'big-initrd');
  await writeFile(big, Buffer.alloc(24 * 1024 * 1024, 1));
  const r = await cli(['bundle', '-V', '3.0.0', '-l', 'small', '-o', join(dir, 'big.bfb'), '--linux-kernel', kernel, '--initrd', big]);
  assert.not.equal(r.exitCode, 0);
  assert.match(r.stderr, /no bank partition .* can hold this bank's files/);
  const lone = await cli(['build', '--layout', 'small', '-o', join(dir, 'lone.img'), '--initrd', initrd]);
  assert.is(lone.exitCode, 2, lone.stderr);
  assert.match(lone.stderr, /initrd -> linux-kernel|linux-kernel/);
});

test('--watchdog with a Linux payload is refused before anything is written: the loader arms it for our kernel only', async () => {
  const out = join(dir, 'linux-watchdog.img');
  const r = await cli(['build', '--layout', 'small', '-o', out, '--linux-kernel', kernel, '--watchdog', '30']);
  assert.is(r.exitCode, 3, r.stderr);
  assert.match(r.stderr, /--watchdog 30: the loader arms the watchdog for bankforge's own kernel only; a Linux payload runs without it/);
  await access(out).then(() => assert.unreachable(`${out} written`), () => undefined);
  const zero = await cli(['build', '--layout', 'small', '-o', out, '--linux-kernel', kernel, '--watchdog', '0']);
  assert.is(zero.exitCode, 0, zero.stderr);
});

test.after(cleanup);
test.run();
