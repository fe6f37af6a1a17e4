// The kernel on a USB stick (kernel/xhci.c + kernel/usb_storage.c), in QEMU (TCG) with OVMF, as the
// README's user story runs it: build 1.0.0, `flash` it to a stick (a loop device), sign a bundle of
// 2.0.0, `upgrade` the stick, preseed the hostname with `config set`, and boot the stick on a USB 3
// port: the kernel marks bank B good by itself, shows the preseeded hostname, saves the root
// password the DCUI asks for, and after a power cycle boots B as valid with both settings back;
// `status` on the stick says B is valid. A second lane boots a kernel that panics from a stick on
// a USB 2 port (next to USB 3 ports) and `coredump` reads its dump back with the backtrace. A third
// makes the stick's transport fail (kernelopt test.usb, kernel/usb_storage.c): a CBW the device
// stalls (reset recovery), a READ past the end (sense data), and a panic between a command's CBW
// and its CSW, after which the dump must still be written. At most two QEMUs at once (two cores).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StatusReport } from '../../disk/status.js';
import { cli } from '../helpers/cli.js';
import { loginOverSerial, setRootPasswordOverSerial, waitForDcuiHost } from '../helpers/dcui.js';
import { withLoop } from '../helpers/loop.js';
import { scratch, tool } from '../helpers/tools.js';
import { BOOT_MS, STEP_MS, withMachine } from '../helpers/machine.js';
import { limiter } from '../helpers/limit.js';

const { dir, cleanup } = await scratch('bankforge-usb-');
const MiB = 1024 * 1024;

/**
 * qemu-xhci (QEMU 7.2) numbers its USB 3 ports first: with p3=2 and p2=4, ports 1-2 are USB 3 and
 * 3-6 USB 2. A usb-storage device on bus port N sits on USB 3 port N when there is one (it can do
 * SuperSpeed), else on USB 2 port N, i.e. controller port p3 + N. Bus port 3 with p3=2: USB 2,
 * controller port 5, with the USB 3 ports still there.
 */
const USB2_PORT = ['-global', 'qemu-xhci.p3=2', '-global', 'usb-storage.port=3'];

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  assert.is(r.exitCode, 0, `bankforge ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function build(name: string, version: string, kernelopt = ''): Promise<string> {
  const out = join(dir, `${name}.img`);
  await ok(['build', '--layout', 'small', '--out', out, '--version', version, '--boot-timeout', '0', '--kernelopt', kernelopt, '--quiet']);
  return out;
}

interface Story { status: StatusReport; settings: Record<string, string>; lines: string[]; readyMs: number }

/** The README's story on a stick, booted on a USB 3 port. */
async function story(): Promise<Story> {
  const img = await build('story', '1.0.0');
  const key = join(dir, 'release-key.pem');
  const pub = join(dir, 'release-pub.pem');
  assert.is((await tool('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key])).exitCode, 0);
  assert.is((await tool('openssl', ['pkey', '-in', key, '-pubout', '-out', pub])).exitCode, 0);
  const bfb = join(dir, 'story-2.0.0.bfb');
  await ok(['bundle', '--version', '2.0.0', '--layout', 'small', '--boot-timeout', '0', '--sign', key, '-o', bfb, '--quiet']);

  // The stick: larger than the image, as sticks are.
  const stick = join(dir, 'stick.bin');
  await writeFile(stick, '');
  await truncate(stick, (await stat(img)).size + 16 * MiB);
  return withLoop(stick, 512, async (dev) => {
    await ok(['flash', img, dev, '--yes']);
    await ok(['upgrade', dev, bfb, '--pubkey', pub, '--quiet']);
    await ok(['config', dev, 'set', 'hostname=usbstick']);

    const { lines, readyMs } = await withMachine({ image: dev, usb: true }, async (m) => {
      const start = Date.now();
      await m.waitFor(/^bank B: on trial, try 1 of 3$/, { timeoutMs: BOOT_MS });
      await m.waitFor(/^bootdisk: boot disk is usb-storage xhci [0-9a-f:.]+ port \d+ lun 0$/, { timeoutMs: BOOT_MS });
      await m.waitFor(/^bank: B marked good/, { timeoutMs: BOOT_MS });
      await m.waitFor(/^bankforge: ready version=2\.0\.0 bank=B /, { timeoutMs: BOOT_MS });
      const readyMs = Date.now() - start;
      await m.waitFor(/^config: loaded seq 1 from slot \d: hostname usbstick, network dhcp$/, { timeoutMs: STEP_MS });
      const page = await waitForDcuiHost(m, 'usbstick', '2.0.0', 'B', STEP_MS);
      assert.not.ok(page.passwordSet, 'first boot: the DCUI says the root password is not set');
      // The first boot's password, set in the DCUI over the serial line: the kernel writes it to the stick's store.
      assert.is(await setRootPasswordOverSerial(m, 'usb-S3cret', '2.0.0', 'B'), 2, 'the password is saved as the record after the preseeded one');
      const first = [...m.lines];

      await m.powerCycle();
      await m.waitFor(/^booting bank B \(valid, updated 2, build 2\.0\.0\)$/, { timeoutMs: BOOT_MS });
      await m.waitFor(/^bankforge: ready version=2\.0\.0 bank=B /, { timeoutMs: BOOT_MS });
      await m.waitFor(/^config: loaded seq 2 from slot \d: hostname usbstick, network dhcp$/, { timeoutMs: STEP_MS });
      await m.waitFor(/^users: root password set$/, { timeoutMs: STEP_MS });
      const again = await waitForDcuiHost(m, 'usbstick', '2.0.0', 'B', STEP_MS);
      assert.ok(again.passwordSet, 'after the power cycle the DCUI does not ask for a new password');
      await loginOverSerial(m, 'usb-S3cret', '2.0.0', 'B');
      return { lines: first, readyMs };
    });
    const status = JSON.parse(await ok(['status', dev, '--json'])) as StatusReport;
    const settings = (JSON.parse(await ok(['config', dev, 'get', '--json'])) as { settings: Record<string, string> }).settings;
    return { status, settings, lines, readyMs };
  });
}

/** A kernel that panics before ready, on a stick on a USB 2 port. */
async function panicOnUsb2(): Promise<{ img: string; lines: string[] }> {
  const img = await build('panic', '1.0.0', 'test.panic=before-ready panic.delay=0');
  const lines = await withMachine({ image: img, usb: true, extraArgs: USB2_PORT }, async (m) => {
    await m.waitFor(/^coredump: written to slot 0 \(seq 1, \d+ bytes\)$/, { timeoutMs: BOOT_MS });
    return [...m.lines];
  }, 'kill');
  return { img, lines };
}

/** The transport's failures, on the USB 2 port: recovery to ready, then a panic mid-command. */
async function transport(): Promise<{ recovery: string[]; midCommand: string[]; img: string }> {
  const rec = await build('recovery', '1.0.0', 'test.usb=recovery');
  const recovery = await withMachine({ image: rec, usb: true, snapshot: true, extraArgs: USB2_PORT }, async (m) => {
    await m.waitFor(/^bankforge: ready version=1\.0\.0 bank=A /, { timeoutMs: BOOT_MS });
    // A wait also matches the unfinished last line: the next line makes the ready line whole in m.lines.
    await m.waitFor(/^config: /, { timeoutMs: STEP_MS });
    return [...m.lines];
  });
  const img = await build('mid-command', '1.0.0', 'test.usb=panic-in-transfer panic.delay=0');
  const midCommand = await withMachine({ image: img, usb: true, extraArgs: USB2_PORT }, async (m) => {
    await m.waitFor(/^coredump: written to slot 0 \(seq 1, \d+ bytes\)$/, { timeoutMs: BOOT_MS });
    return [...m.lines];
  }, 'kill');
  return { recovery, midCommand, img };
}

const slot = limiter(2);
const lanes = { story: slot(story), panic: slot(panicOnUsb2), transport: slot(transport) };
for (const p of Object.values(lanes)) p.catch(() => undefined);   // each test awaits (and reports) its own

test('README story on a USB 3 stick: flashed, upgraded with a signed bundle, the kernel marks B good, keeps config and the password across a power cycle', async () => {
  const { status, settings, lines, readyMs } = await lanes.story;
  const log = lines.join('\n');
  assert.match(log, /^xhci [0-9a-f:.]+ port [12]: [0-9a-f]{4}:[0-9a-f]{4} USB 3\.00, SuperSpeed \(USB 3\), slot 1$/m, log);
  assert.match(log, /^blk: usb-storage xhci [0-9a-f:.]+ port [12] lun 0: \d+ blocks of 512 bytes/m, log);
  assert.not.match(log, /no driver for the boot disk/);
  assert.is(status.next, 'B');
  const b = status.banks.find((x) => x.bank === 'B')!;
  assert.is(b.bootstate, 'valid');
  assert.is(b.version, '2.0.0');
  assert.equal(b.history.slice(0, 3).map((h) => h.event), ['good', 'try', 'installed']);
  assert.is(settings.hostname, 'usbstick');
  assert.match(settings['root.password']!, /^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
  console.log(`\nUSB 3 stick: QEMU start to ready ${(readyMs / 1000).toFixed(1)} s; ${log.match(/^bankforge: ready .*$/m)?.[0]}`);
});

test('a panic on a stick on a USB 2 port leaves a core dump that coredump decodes with the backtrace', async () => {
  const { img, lines } = await lanes.panic;
  const log = lines.join('\n');
  assert.match(log, /^xhci [0-9a-f:.]+: xHCI [0-9.]+, 6 ports, /m, log);
  assert.match(log, /^xhci [0-9a-f:.]+ port 5: [0-9a-f]{4}:[0-9a-f]{4} USB 2\.00, high speed \(USB 2\), slot 1$/m, log);
  assert.match(log, /^bootdisk: boot disk is usb-storage xhci [0-9a-f:.]+ port 5 lun 0$/m, log);
  const r = await cli(['coredump', img, '--json']);
  assert.is(r.exitCode, 0, r.stderr);
  const dumps = (JSON.parse(r.stdout) as { dumps: { status: string; header: { reason: string; cause: string }; backtrace?: { frames: { function: string }[] }[] }[] }).dumps;
  assert.is(dumps.length, 1);
  assert.is(dumps[0]!.status, 'complete');
  assert.is(dumps[0]!.header.cause, 'panic');
  assert.is(dumps[0]!.header.reason, 'test.panic=before-ready');
  assert.is(dumps[0]!.backtrace?.[0]?.frames[0]?.function, 'test_panic_before_ready');
});

test('transport failures: a stalled CBW is reset and recovered, a READ past the end reads its sense, a panic mid-command still leaves a dump', async () => {
  const { recovery, midCommand, img } = await lanes.transport;
  const log = recovery.join('\n');
  assert.match(log, /^test: CBW with a bad signature: stalled$/m, log);
  assert.match(log, /^usb-storage xhci [0-9a-f:.]+ port 5: reset recovery$/m, log);
  assert.match(log, /^test: after reset recovery: ready$/m, log);
  assert.match(log, /^test: READ past the end: failed, illegal request, ASC 21 ASCQ 00$/m, log);
  assert.match(log, /^test: READ of block 0 afterwards: ok$/m, log);
  assert.match(log, /^bankforge: ready version=1\.0\.0 bank=A /m, log);
  const mid = midCommand.join('\n');
  // The order matters: the driver's quiesce ends the command before the dump's first write.
  const order = [/^panic: test\.usb=panic-in-transfer$/m, /^usb-storage xhci [0-9a-f:.]+ port 5 lun 0: a command was in flight at the panic$/m,
    /^usb-storage xhci [0-9a-f:.]+ port 5: reset recovery$/m, /^coredump: writing slot 0 /m];
  const at = order.map((re) => mid.search(re));
  assert.ok(at.every((i, k) => i >= 0 && (k === 0 || i > at[k - 1]!)), `${at.join(',')}\n${mid}`);
  const r = await cli(['coredump', img, '--json']);
  assert.is(r.exitCode, 0, r.stderr);
  const d = (JSON.parse(r.stdout) as { dumps: { status: string; header: { reason: string } }[] }).dumps;
  assert.equal(d.map((x) => [x.status, x.header.reason]), [['complete', 'test.usb=panic-in-transfer']]);
});

test.after(async () => {
  await Promise.allSettled(Object.values(lanes));
  await cleanup();
});
test.run();
