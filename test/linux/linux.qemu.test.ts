// Stock Linux in the banks, end to end in QEMU (TCG): Debian's own kernel (scripts/fetch-linux.sh)
// with a busybox initramfs made by `bankforge initramfs` around examples/linux/rootfs/init and
// the mark-good tool. One base image is built once; every scenario works on a sparse copy.
// Boots run two at a time (two cores); each waits with the suite's ceilings.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build, DEFAULT_EPOCH } from '../../builder/build.js';
import { createBundle } from '../../builder/bundle/create.js';
import { buildInitramfs } from '../../builder/initramfs/initramfs.js';
import { compileStateTool } from '../../builder/pipeline/state-tool.js';
import { status } from '../../disk/status.js';
import { upgrade } from '../../disk/upgrade/upgrade.js';
import { Bank } from '../../partitions/bankstate.js';
import { corruptBankFile, quiet } from '../helpers/images.js';
import { BOOT_MS, withMachine } from '../helpers/machine.js';

/** A wait that spans a Linux boot (kernel, modules, USB enumeration): twice the loader's ceiling,
 * since a Debian kernel under TCG on a loaded two-core host can take minutes to reach /init. */
const LINUX_MS = 2 * BOOT_MS;
import { copyTree, mustRun, repoRoot, scratch } from '../helpers/tools.js';

const { dir, cleanup } = await scratch('bankforge-linux-');
const fetched = Object.fromEntries((await execa('sh', [join(repoRoot, 'scripts/fetch-linux.sh')])).stdout.split('\n').map((l) => l.split('=', 2) as [string, string]));
const stateTool = (await compileStateTool()).path;

/** The example initramfs, plus /etc/release = `release` when given. */
async function initramfs(name: string, release?: string): Promise<string> {
  const dirs = [join(repoRoot, 'examples/linux/rootfs'), fetched.MODULES!];
  if (release) {
    const extra = join(dir, `${name}-extra`);
    await mkdir(join(extra, 'etc'), { recursive: true });
    await writeFile(join(extra, 'etc/release'), `${release}\n`);
    dirs.push(extra);
  }
  const out = join(dir, `${name}.img`);
  await buildInitramfs({ out, dirs, busybox: fetched.BUSYBOX!, stateTool, epoch: DEFAULT_EPOCH });
  return out;
}

// no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check can fail and panic.
const CMDLINE = 'console=ttyS0 quiet panic=1 no_timer_check';
const initrd1 = await initramfs('initrd-1');
const initrd2 = await initramfs('initrd-2', '2.0.0');
const base = join(dir, 'base.img');
await build({ layout: 'small', out: base, version: '1.0.0', bootTimeout: 0, kernelopt: CMDLINE, linux: { kernel: fetched.KERNEL!, initrd: initrd1 }, progress: quiet });

async function bundle(version: string, cmdline: string): Promise<string> {
  const out = join(dir, `${version}.bfb`);
  await createBundle({ version, layout: 'small', out, kernelopt: cmdline, bootTimeout: 0, epoch: DEFAULT_EPOCH, linux: { kernel: fetched.KERNEL!, initrd: initrd2 } });
  return out;
}
const good = await bundle('2.0.0', CMDLINE);
const panics = await bundle('3.0.0', `${CMDLINE} bankforge.example=panic`);
const nomark = await bundle('4.0.0', `${CMDLINE} bankforge.example=nomark`);

/** A copy of the base image with `bundle` installed into bank B (on trial, `tries` tries). */
async function upgraded(name: string, bundleFile: string, tries = 3): Promise<string> {
  const img = join(dir, `${name}.img`);
  await mustRun('cp', ['--sparse=always', base, img]);
  await upgrade({ target: img, bundle: bundleFile, tries, force: false });
  return img;
}

const bankB = async (img: string) => (await status(img)).banks.find((b) => b.bank === 'B')!;

test('an upgrade to a second Linux payload boots on trial, is marked good by its init, and stays (virtio and USB)', async () => {
  const virtio = await upgraded('virtio', good);
  const usb = await upgraded('usb', good);
  const trial = (usbStick: boolean) => async (m: import('../../qemu/index.js').Machine) => {
    await m.waitFor(usbStick ? /^disk: usb, 512-byte sectors/ : /^disk: virtio, 512-byte sectors/, { timeoutMs: BOOT_MS });
    await m.waitFor(/^booting bank B \(on trial, updated 2, build 2\.0\.0\)$/, { timeoutMs: BOOT_MS });
    await m.waitFor(/^starting Linux: \d+-byte kernel, \d+-byte initramfs, command line "console=ttyS0 quiet panic=1 no_timer_check bankforge\.bank=B bankforge\.disk=[0-9A-F-]{36} bankforge\.part=[0-9A-F-]{36}"$/, { timeoutMs: BOOT_MS });
    await m.waitFor(/^example: Linux 6\.\S+ up; bankforge\.bank=B$/, { timeoutMs: LINUX_MS });
    await m.waitFor(/^example: release 2\.0\.0$/, { timeoutMs: BOOT_MS });
    await m.waitFor(/^bank B: marked good$/, { timeoutMs: LINUX_MS });
    await m.waitFor(/^bank B: partition 3, valid, tries 3\/3, updated 2, version 2\.0\.0, reason none$/, { timeoutMs: BOOT_MS });
    await m.waitFor(/^example: done$/, { timeoutMs: BOOT_MS });
  };
  await Promise.all([withMachine({ image: virtio }, trial(false)), withMachine({ image: usb, usb: true }, trial(true))]);
  for (const img of [virtio, usb]) {
    const b = await bankB(img);
    assert.is(b.bootstate, 'valid', img);
    assert.is(b.triesLeft, 3);
    assert.is((await status(img)).next, 'B');
    // Marked good after its trial tries and nothing else since the upgrade installed it. Normally
    // one try; a reset during the trial (seen once under heavy load) spends another, which the
    // loader's rules allow: what must hold is good after tries, before the tries ran out.
    const events = b.history.map((e) => e.event).filter(Boolean);
    const tries = events.indexOf('installed') - 1;
    assert.ok(events[0] === 'good' && tries >= 1 && tries <= 3 && events.slice(1, 1 + tries).every((e) => e === 'try'), events.join(' '));
  }
  // It stays: the next boot takes bank B as a valid bank, spending nothing (no "on trial" line).
  await withMachine({ image: virtio, snapshot: true }, async (m) => {
    await m.waitFor(/^booting bank B \(valid, updated 2, build 2\.0\.0\)$/, { timeoutMs: BOOT_MS });
    assert.not.ok(m.lines.some((l) => /on trial/.test(l)), m.lines.join('\n'));
  }, 'kill');
});

test('a trial that panics, and one whose init never marks good, are rolled back after their try; status names the reason', async () => {
  const panicImg = await upgraded('panic', panics, 1);
  const nomarkImg = await upgraded('nomark', nomark, 1);
  // After a rollback, bank A's Linux must come up and its init find A valid, writing nothing: the
  // panic scenario follows it that far. The other scenario's fallback is the same loader path,
  // and ends where the loader hands A's kernel to the CPU (Debian's kernel to its init is
  // seconds of CPU under TCG).
  const fallsBack = async (m: import('../../qemu/index.js').Machine, toInit: boolean) => {
    await m.waitFor(/^bank B: tries exhausted, marked invalid$/, { timeoutMs: LINUX_MS });
    await m.waitFor(/^booting bank A \(valid, updated 1, build 1\.0\.0\)$/, { timeoutMs: BOOT_MS });
    await m.waitFor(/^starting Linux: .*bankforge\.bank=A /, { timeoutMs: BOOT_MS });
    if (toInit) await m.waitFor(/^bank A: valid already, nothing written$/, { timeoutMs: LINUX_MS });
  };
  await Promise.all([
    withMachine({ image: panicImg }, async (m) => {
      await m.waitFor(/^booting bank B \(on trial, updated 2, build 3\.0\.0\)$/, { timeoutMs: BOOT_MS });
      await m.waitFor(/^example: crashing on purpose$/, { timeoutMs: LINUX_MS });
      // panic=1: the kernel resets the machine itself a second after the panic.
      await fallsBack(m, true);
    }, 'kill'),
    withMachine({ image: nomarkImg }, async (m) => {
      await m.waitFor(/^booting bank B \(on trial, updated 2, build 4\.0\.0\)$/, { timeoutMs: BOOT_MS });
      await m.waitFor(/^example: not marking this bank good$/, { timeoutMs: LINUX_MS });
      await m.waitFor(/^bank B: partition 3, on trial, tries 0\/1, updated 2, version 4\.0\.0, reason none$/, { timeoutMs: BOOT_MS });
      await m.waitFor(/^example: done$/, { timeoutMs: BOOT_MS });
      await m.powerCycle();   // a hang the watchdog would end, or a user pulling the plug
      await fallsBack(m, false);
    }, 'kill'),
  ]);
  for (const img of [panicImg, nomarkImg]) {
    const b = await bankB(img);
    assert.is(b.bootstate, 'invalid', img);
    assert.is(b.reason, 'tries exhausted', img);
    assert.is((await status(img)).next, 'A');
  }
});

test('a corrupted kernel or initramfs in the trial bank is refused by the loader before it runs', async () => {
  const kernelImg = await upgraded('bad-kernel', good);
  const initrdImg = await upgraded('bad-initrd', good);
  await corruptBankFile(kernelImg, Bank.B, 'vmlinuz');
  await corruptBankFile(initrdImg, Bank.B, 'initrd.img');
  const refused = (file: string) => async (m: import('../../qemu/index.js').Machine) => {
    await m.waitFor(/^booting bank B \(on trial, updated 2, build 2\.0\.0\)$/, { timeoutMs: BOOT_MS });
    const next = await m.waitFor(/^(bank B: .*marked invalid|starting Linux.*)$/, { timeoutMs: BOOT_MS });
    assert.is(next[0], `bank B: ${file}: sha256 mismatch (verification failed), marked invalid`);
    await m.waitFor(/^booting bank A \(valid, updated 1, build 1\.0\.0\)$/, { timeoutMs: BOOT_MS });
    await m.waitFor(/^starting Linux: .*bankforge\.bank=A /, { timeoutMs: BOOT_MS });
  };
  await Promise.all([withMachine({ image: kernelImg }, refused('vmlinuz'), 'kill'), withMachine({ image: initrdImg }, refused('initrd.img'), 'kill')]);
  for (const [img, file] of [[kernelImg, 'vmlinuz'], [initrdImg, 'initrd.img']] as const) {
    const b = await bankB(img);
    assert.is(b.bootstate, 'invalid');
    assert.is(b.reason, 'verification failed');
    assert.is(b.detail, `${file}: sha256 mismatch`);
  }
});

test('the README\'s "Your own Linux" commands work as written: five commands, the boot reaches the example\'s last line, the upgrade waits on trial', async () => {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const block = /## Your own Linux[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const commands = block.split('\n').map((l) => l.replace(/ +# .*$/, '').trim()).filter(Boolean);
  assert.is(commands.length, 5, block);
  // In a copy of the tree (what git tracks or would track): the commands write into the
  // directory they run in, and must not depend on this checkout's images or compile cache. Its
  // dist/ is copied: the suite's setup.sh made it from these sources as the README's
  // `npm run quickstart` does (compiling them again cost 16 s of CPU). The fetched .debs and
  // what fetch-linux.sh unpacked from them (at the top of this file) are hard-linked in, so the
  // copy neither downloads them nor unpacks the kernel's 70 MB again (6 s of CPU).
  const copy = join(dir, 'tree');
  await mkdir(copy);
  await copyTree(copy);
  await mustRun('sh', ['-c', 'cd "$1" && cp -a dist "$2"/ && cp -al node_modules "$2"/ && mkdir -p "$2/.cache" && cp -al .cache/debs .cache/linux "$2/.cache/"', 'copy', repoRoot, copy]);
  const r = await execa('sh', ['-ec', commands.join('\n')], { cwd: copy, reject: false, all: true, timeout: 900_000 });
  assert.is(r.exitCode, 0, r.all?.slice(-3000));
  assert.match(r.all ?? '', /^bank A: valid already, nothing written$/m);
  assert.match(r.all ?? '', /bankforge: matched/);
  const s = await status(join(copy, 'linux.img'));
  assert.is(s.next, 'B');
  assert.is(s.banks[1]!.bootstate, 'new');
  assert.is(s.banks[1]!.version, '2.0.0');
});

test.after(cleanup);
test.run();
