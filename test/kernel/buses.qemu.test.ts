// The README's user story on every bus the kernel drives (docs/media.md has the table this
// backs): build 1.0.0, flash it to a stick (a loop device), a signed bundle 2.0.0, upgrade,
// `config set hostname=...`, then boot from that bus. The kernel marks bank B good by itself,
// the DCUI shows the preseeded hostname, the root password set on the console is saved through
// the driver and asked for (not set again) after a power cycle, `status --json` says valid. A
// copy of the same image is attached as a second disk and must not change by a byte. A kernel
// built with test.panic=before-ready leaves a dump that `coredump` decodes with the backtrace;
// where QEMU offers 4096-byte sectors the story runs on a 4Kn disk too; and two copies of one
// image behind one controller (where the bus puts several disks there) are refused by the
// kernel, which writes to neither.
//
// Adding a bus is adding it to BUSES. Boots run two at a time (two cores).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile, open, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DiskBus } from '../../qemu/index.js';
import type { StatusReport } from '../../disk/status.js';
import { cli } from '../helpers/cli.js';
import { loginOverSerial, setRootPasswordOverSerial, waitForDcuiHost } from '../helpers/dcui.js';
import { limiter } from '../helpers/limit.js';
import { withLoop } from '../helpers/loop.js';
import { BOOT_MS, STEP_MS, withMachine } from '../helpers/machine.js';
import { sha256OfFile as sha256 } from '../helpers/file-bytes.js';
import { mustRun, scratch } from '../helpers/tools.js';

/** The buses under test. */
const BUSES: DiskBus[] = ['virtio', 'ahci', 'nvme'];
/** Buses where QEMU offers 4096-byte logical sectors (ide-hd has 512 only). */
const FOUR_K: Record<DiskBus, boolean> = { virtio: true, nvme: true, ahci: false, usb: false };
/** Buses that put every disk behind a controller of its own (a PCI function per disk). On the
 * others (AHCI ports, USB ports) two copies of one image sit behind one controller, which
 * bootinfo cannot tell apart: a lane of its own checks that the kernel refuses them. */
const OWN_CONTROLLER: Record<DiskBus, boolean> = { virtio: true, nvme: true, ahci: false, usb: false };

const MiB = 1024 * 1024;
const { dir, cleanup } = await scratch('bankforge-buses-');

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  assert.is(r.exitCode, 0, `bankforge ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const status = async (target: string) => JSON.parse(await ok(['status', target, '--json'])) as StatusReport;

// Shared inputs: a signing key, the 1.0.0 images (512 and 4Kn), the signed 2.0.0 bundles.
await mustRun('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', join(dir, 'key.pem')]);
await mustRun('openssl', ['pkey', '-in', join(dir, 'key.pem'), '-pubout', '-out', join(dir, 'pub.pem')]);
const PUB = join(dir, 'pub.pem');
async function build(name: string, layout: string, sectorSize: number, kernelopt = ''): Promise<string> {
  const out = join(dir, `${name}.img`);
  await ok(['build', '--layout', layout, '--sector-size', String(sectorSize), '--out', out, '--version', '1.0.0', '--boot-timeout', '0', '--kernelopt', kernelopt, '--quiet']);
  return out;
}
async function bundle(layout: string): Promise<string> {
  const out = join(dir, `2.0.0-${layout}.bfb`);
  await ok(['bundle', '--version', '2.0.0', '--layout', layout, '--sign', join(dir, 'key.pem'), '--boot-timeout', '0', '--out', out, '--quiet']);
  return out;
}
const base = await build('base', 'small', 512);
// The small layout's 16 MiB FAT16 store cannot have 4096-byte sectors; the default layout's can.
const base4k = FOUR_K.virtio || FOUR_K.nvme ? await build('base4k', 'esxi', 4096) : '';
const bundles = { small: await bundle('small'), esxi: base4k ? await bundle('esxi') : '' };

/** A stick's backing file: the image's size and 8 MiB more, all zero. */
async function stickFile(name: string, image: string): Promise<string> {
  const path = join(dir, `${name}.stick`);
  await writeFile(path, '');
  const fh = await open(image, 'r');
  const size = (await fh.stat()).size;
  await fh.close();
  await truncate(path, size + 8 * MiB);
  return path;
}

interface Story { readyMs: number; hostname: string; secondUnchanged: boolean; status: StatusReport }

/**
 * The user story on `bus`: flash, upgrade, preseed, boot B on trial with a copy of the image as
 * a second disk; the root password set on the console; a power cycle; B again with the
 * password asked for.
 */
async function story(bus: DiskBus, sectorSize: 512 | 4096): Promise<Story> {
  const image = sectorSize === 4096 ? base4k : base;
  const hostname = `${bus}${sectorSize === 4096 ? '-4kn' : ''}-host`;
  const second = join(dir, `${bus}-${sectorSize}-second.img`);
  await mustRun('cp', ['--sparse=always', image, second]);   // the 4Kn image is 750 MiB, mostly holes
  const before = await sha256(second);
  return withLoop(await stickFile(`${bus}-${sectorSize}`, image), sectorSize, async (dev) => {
    await ok(['flash', image, dev, '--yes', '--quiet']);
    await ok(['upgrade', dev, sectorSize === 4096 ? bundles.esxi : bundles.small, '--pubkey', PUB, '--quiet']);
    await ok(['config', dev, 'set', `hostname=${hostname}`]);
    // The copy is a virtio disk: the kernel registers virtio disks first, so on the other buses
    // the copy is the first disk with the boot disk's GUID, and on virtio it is the same bus
    // behind another PCI function.
    const extraDisks = [{ image: second, bus: 'virtio' as DiskBus }];
    const readyMs = await withMachine({ image: dev, bus, extraDisks }, async (m) => {
      const start = Date.now();
      await m.waitFor(/^bank B: on trial, try 1 of 3$/, { timeoutMs: BOOT_MS });
      await m.waitFor(/^bank: B marked good/, { timeoutMs: BOOT_MS });
      await m.waitFor(/^bankforge: ready version=2\.0\.0 bank=B /, { timeoutMs: BOOT_MS });
      const ms = Date.now() - start;
      await m.waitFor(new RegExp(`^config: loaded seq \\d+ from slot \\d: hostname ${hostname}, network dhcp$`), { timeoutMs: STEP_MS });
      // The DCUI's main page on the serial line (plain mode under QEMU): the preseeded name, no password yet.
      const first = await waitForDcuiHost(m, hostname, '2.0.0', 'B', STEP_MS);
      assert.not.ok(first.passwordSet, 'first boot: the DCUI says the root password is not set');
      const seq = await setRootPasswordOverSerial(m, 'On-the-bus-1', '2.0.0', 'B');
      await m.powerCycle();
      await m.waitFor(/^booting bank B \(valid, updated 2, build 2\.0\.0\)$/, { timeoutMs: BOOT_MS });
      // The record the password was saved in is the one read back through the driver.
      await m.waitFor(new RegExp(`^config: loaded seq ${seq} from slot \\d: hostname ${hostname}, network dhcp$`), { timeoutMs: BOOT_MS });
      await m.waitFor(/^users: root password set$/, { timeoutMs: STEP_MS });
      const again = await waitForDcuiHost(m, hostname, '2.0.0', 'B', STEP_MS);
      assert.ok(again.passwordSet, 'after the power cycle the DCUI does not ask for a new password');
      await loginOverSerial(m, 'On-the-bus-1', '2.0.0', 'B');
      return ms;
    });
    return { readyMs, hostname, secondUnchanged: await sha256(second) === before, status: await status(dev) };
  });
}

/** A kernel that panics before ready, booted from `bus` until its dump is written. */
async function dump(bus: DiskBus): Promise<{ written: string; dumps: { status: string; header: { reason: string; cause: string }; backtrace?: { frames: { function: string }[] }[] }[]; text: string }> {
  const img = await build(`panic-${bus}`, 'small', 512, 'test.panic=before-ready panic.delay=0');
  const written = await withMachine({ image: img, bus }, async (m) =>
    (await m.waitFor(/^coredump: written to slot \d+ \(seq \d+, \d+ bytes\)$/, { timeoutMs: BOOT_MS }))[0], 'kill');
  const dumps = (JSON.parse(await ok(['coredump', img, '--json'])) as { dumps: Awaited<ReturnType<typeof dump>>['dumps'] }).dumps;
  return { written, dumps, text: await ok(['coredump', img]) };
}

/** Two copies of one image behind `bus`'s one controller: the kernel writes to neither. */
async function copies(bus: DiskBus): Promise<{ refusal: string; bank: string; otherUnchanged: boolean }> {
  const boot = join(dir, `${bus}-copy-boot.img`);
  const other = join(dir, `${bus}-copy-other.img`);
  await copyFile(base, boot);
  await ok(['upgrade', boot, bundles.small, '--pubkey', PUB, '--quiet']);
  await copyFile(base, other);
  const before = await sha256(other);
  const lines = await withMachine({ image: boot, bus, extraDisks: [{ image: other }] }, async (m) => {
    // The whole line: a wait also matches the unfinished last line (for prompts), so a pattern
    // open at its end can take a line the serial port has only half delivered.
    const refusal = (await m.waitFor(/^bootdisk: 2 disks at .* carry the boot disk's GPT disk GUID .*; writing to none of them$/, { timeoutMs: BOOT_MS }))[0];
    const bank = (await m.waitFor(/^bankforge: .*; bank state is not updated$/, { timeoutMs: BOOT_MS }))[0];
    await m.waitFor(/^config: no store on a disk we drive/, { timeoutMs: STEP_MS });
    return { refusal, bank };
  });
  return { ...lines, otherUnchanged: await sha256(other) === before };
}

const slot = limiter(2);
const runs = BUSES.map((bus) => ({
  bus,
  story: slot(() => story(bus, 512)),
  dump: slot(() => dump(bus)),
  story4k: FOUR_K[bus] ? slot(() => story(bus, 4096)) : undefined,
  copies: OWN_CONTROLLER[bus] ? undefined : slot(() => copies(bus)),
}));
for (const r of runs) for (const p of [r.story, r.dump, r.story4k, r.copies]) p?.catch(() => undefined);

function checkStory(s: Story): void {
  const b = s.status.banks.find((x) => x.bank === 'B')!;
  assert.is(s.status.next, 'B');
  assert.is(b.bootstate, 'valid');
  assert.is(b.version, '2.0.0');
  assert.equal(b.history.slice(0, 3).map((h) => h.event), ['good', 'try', 'installed']);
  assert.ok(s.secondUnchanged, 'the second disk (a copy of the image) changed');
}

for (const r of runs) {
  test(`${r.bus}: flash, signed upgrade, preseed; B marked good by the kernel; hostname shown; password saved across a power cycle; status valid; a copy on a second disk untouched`, async () => {
    checkStory(await r.story);
  });
  test(`${r.bus}: test.panic=before-ready leaves a dump that coredump decodes with the backtrace`, async () => {
    const { written, dumps, text } = await r.dump;
    assert.match(written, /^coredump: written to slot 0 \(seq 1, \d+ bytes\)$/);
    assert.is(dumps.length, 1);
    assert.is(dumps[0]!.status, 'complete');
    assert.is(dumps[0]!.header.cause, 'panic');
    assert.is(dumps[0]!.header.reason, 'test.panic=before-ready');
    assert.is(dumps[0]!.backtrace?.[0]?.frames[0]?.function, 'test_panic_before_ready');
    assert.match(text, /test_panic_before_ready at kernel\/main\.c:\d+/);
  });
  if (r.story4k) {
    test(`${r.bus}, 4096-byte sectors: the same story on a 4Kn disk`, async () => {
      checkStory((await r.story4k)!);
    });
  }
  if (r.copies) {
    test(`${r.bus}: two copies of one image behind one controller: the kernel writes to neither`, async () => {
      const c = (await r.copies)!;
      assert.match(c.refusal, /writing to none of them$/);
      assert.is(c.bank, `bankforge: the boot disk is not told apart from a copy (${r.bus === 'ahci' ? 'sata' : r.bus}); bank state is not updated`);
      assert.ok(c.otherUnchanged, 'the other copy changed');
    });
  }
}

test.after(async () => {
  await Promise.allSettled(runs.flatMap((r) => [r.story, r.dump, r.story4k, r.copies]));
  await cleanup();
});
test.run();
