// Real QEMU (TCG), booting the efi-hello fixture: virtio, USB and 4Kn disks, typing on the serial
// console and the PS/2 keyboard, a screenshot, a wait that times out, a power cycle and a power
// cut. The independent boots start together in `before` (each costs seconds of CPU under TCG);
// each test then awaits the machine it checks.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import CRC32 from 'crc-32';
import { BankforgeError } from '../../support/errors.js';
import { Machine, SerialTimeoutError, type MachineOptions } from '../../qemu/index.js';
import { DEFAULT_OVMF_DIR } from '../../qemu/ovmf.js';
import { HELLO, helloImage } from '../fixtures/efi-hello/image.js';
import { BOOT_MS } from '../helpers/machine.js';

/** A machine at efi-hello's prompt, and how long it took from QEMU's start to get there. */
interface Booted { m: Machine; helloMs: number }

const machines: Machine[] = [];
const logDir = await mkdtemp(join(tmpdir(), 'bankforge-serial-log-'));

/**
 * Starts a machine on an efi-hello image and waits for its prompt, which comes right after the
 * two hello lines: tests look at those in m.lines, so none depends on another's waits.
 */
function bootToHello(sectorSize: 512 | 4096, opts: Omit<MachineOptions, 'image'> = {}): Promise<Booted> {
  const booted = (async () => {
    const t0 = Date.now();
    const m = await Machine.start({ image: await helloImage(sectorSize), snapshot: true, ...opts });
    machines.push(m);
    await m.waitFor(HELLO.prompt, { timeoutMs: BOOT_MS });
    return { m, helloMs: Date.now() - t0 };
  })();
  // Awaited by the tests; until then a failed boot must not count as an unhandled rejection.
  booted.catch(() => undefined);
  return booted;
}

const QemuMachine = suite<{ virtio: Promise<Booted>; usb: Promise<Booted>; fourK: Promise<Booted>; cycled: Promise<Booted> }>('Machine', {} as never);

QemuMachine.before((ctx) => {
  ctx.virtio = bootToHello(512, { name: 'virtio', serialLog: join(logDir, 'virtio.log') });
  ctx.usb = bootToHello(512, { name: 'usb', usb: true });
  ctx.fourK = bootToHello(4096, { name: '4Kn' });
  ctx.cycled = bootToHello(512, { name: 'cycled' });
});

QemuMachine.after(async (ctx) => {
  await Promise.allSettled(machines.map((m) => m.stop()));
  await rm(logDir, { recursive: true, force: true });
  const times = await Promise.allSettled([ctx.virtio, ctx.usb, ctx.fourK, ctx.cycled]);
  console.log(`  boot to hello, 4 machines at once: ${times.map((t) => (t.status === 'fulfilled' ? `${t.value.m.name} ${(t.value.helloMs / 1000).toFixed(1)} s` : 'failed')).join(', ')}`);
});

QemuMachine('virtio disk: OVMF boots BOOTX64.EFI; COM1 and ConOut lines arrive in order, escapes stripped', async (ctx) => {
  const { m } = await ctx.virtio;
  const hello = m.lines.indexOf('efi-hello: hello from COM1');
  assert.ok(hello > 0, `no clean hello line in:\n${m.lines.join('\n')}`);
  assert.is(m.lines[hello + 1], 'efi-hello: hello from ConOut');
  assert.ok(m.lines.some((l) => /^BdsDxe: starting Boot\d+/.test(l)), 'OVMF announces the boot option it starts');
  assert.match(m.output, /\x1b\[2J/, 'output keeps the terminal escapes');
  assert.match(await readFile(join(logDir, 'virtio.log'), 'utf8'), /efi-hello: hello from COM1\r\nefi-hello: hello from ConOut/, 'serialLog');
  assert.is(m.accel.accel, 'tcg');
});

QemuMachine('the firmware image: 0xFF in the TPM window, OVMF ending at 4 GiB, the local APIC in front of it (qemu/firmware-image.ts)', async (ctx) => {
  const { m } = await ctx.virtio;
  // OVMF takes only 0xFF in the TPM's Access register as "no TPM"; 0 made it wait 1.6 s.
  for (const locality of [0, 4]) {
    assert.match(await m.monitor(`xp /4bx ${0xfed40000 + locality * 0x1000}`), /: 0xff 0xff 0xff 0xff\s*$/, `TPM locality ${locality}`);
  }
  assert.match(await m.monitor('xp /1bx 0xfed3ffff'), /Cannot access memory/, 'below the TPM window: unmapped, as without the image');
  const code = await readFile(join(process.env.BANKFORGE_OVMF_DIR || DEFAULT_OVMF_DIR, 'OVMF_CODE_4M.fd'));
  const resetVector = [...code.subarray(code.length - 16)].map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(' ');
  // xp prints 8 bytes a line, each line after its address and a colon.
  const bytes = (await m.monitor('xp /16bx 0xfffffff0')).split('\n').flatMap((l) => l.split(':')[1]?.trim().split(/\s+/) ?? []);
  assert.is(bytes.join(' '), resetVector, 'the reset vector is OVMF\'s');
  // In QEMU's flattened memory map the image starts at the TPM window and gives way to the local
  // APIC and MSI window it overlaps (the HPET and I/O APIC lie below it).
  const map = await m.monitor('info mtree -f');
  assert.match(map, /fed40000-00000000fedfffff \(prio 0, rom\): pc\.bios/);
  assert.match(map, /fee00000-00000000feefffff \(prio 4096, i\/o\): apic-msi/);
});

QemuMachine('sendText: a line typed on the serial console comes back from both COM1 and ConOut', async (ctx) => {
  const { m } = await ctx.virtio;
  await m.sendText('ping 42, over\r');
  assert.is((await m.waitFor(HELLO.echoCom1, { timeoutMs: BOOT_MS }))[1], 'ping 42, over');
  assert.is((await m.waitFor(HELLO.echoConOut, { timeoutMs: BOOT_MS }))[1], 'ping 42, over');
});

QemuMachine('a wait that times out names the pattern and the time, and shows the last lines', async (ctx) => {
  const { m } = await ctx.virtio;
  const t0 = Date.now();
  const e = await m.waitFor(/never printed/, { timeoutMs: 1000 }).then(() => undefined, (x: unknown) => x);
  assert.instance(e, SerialTimeoutError);
  assert.ok(Date.now() - t0 >= 1000);
  const message = (e as Error).message;
  // At least the second asked for; a loaded machine can fire the timer a second or more late.
  assert.match(message, /^timed out after \d+\.\d s waiting for \/never printed\/ on the serial console of virtio; last \d+ lines:\n/);
  assert.ok(Number(/after (\d+\.\d) s/.exec(message)![1]) >= 1, message);
  assert.match(message, /\n {2}\| efi-hello: hello from COM1\n/);
});

QemuMachine('screenshot: a PNG of the GOP framebuffer with text on it', async (ctx) => {
  const { m } = await ctx.virtio;
  const dir = join(tmpdir(), 'bankforge-qemu-artifacts');
  await mkdir(dir, { recursive: true });
  const png = join(dir, 'efi-hello-virtio.png');
  await m.screenshot(png);
  console.log(`  screenshot: ${png}`);
  const image = decodePng(await readFile(png));
  // OVMF 2022.11's QemuVideoDxe sets 1280x800 on std VGA.
  assert.equal([image.width, image.height], [1280, 800]);
  const lit = image.brightPixels;
  assert.ok(lit > 500 && lit < image.width * image.height / 4, `${lit} bright pixels: expected some text on a dark screen`);
});

QemuMachine('USB stick (qemu-xhci + usb-storage): boots; sendKeys types on the PS/2 keyboard', async (ctx) => {
  const { m } = await ctx.usb;
  assert.ok(m.command.includes('usb-storage,bus=xhci.0,drive=disk0,bootindex=0'));
  await m.sendKeys(['h', 'i', 'spc', 'shift-x', 'ret']);
  assert.is((await m.waitFor(HELLO.echoCom1, { timeoutMs: BOOT_MS }))[1], 'hi X');
  await m.sendKeys(['no_such_key']).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /send-key failed: .*no_such_key/));
});

QemuMachine('4Kn image: the sector size is detected from the GPT and the disk boots', async (ctx) => {
  const { m } = await ctx.fourK;
  assert.ok(m.command.some((a) => a.startsWith('virtio-blk-pci,') && a.endsWith(',logical_block_size=4096,physical_block_size=4096')), m.command.join(' '));
  assert.ok(m.lines.includes('efi-hello: hello from COM1'));
});

QemuMachine('powerCycle: the firmware starts again and the hello line comes a second time', async (ctx) => {
  const { m } = await ctx.cycled;
  await m.powerCycle();
  await m.waitFor(HELLO.com1, { timeoutMs: BOOT_MS });
  // The match may be on the unfinished line; m.lines has it once the prompt line follows.
  await m.waitFor(HELLO.prompt, { timeoutMs: BOOT_MS });
  assert.is(m.lines.filter((l) => HELLO.com1.test(l)).length, 2);
  assert.is(m.lines.filter((l) => /^BdsDxe: starting Boot/.test(l)).length, 2);
});

QemuMachine('kill: SIGKILL mid-boot leaves no process and no temporary files; stop after it is harmless', async () => {
  const m = await Machine.start({ image: await helloImage(512), snapshot: true, name: 'killed' });
  machines.push(m);
  assert.ok(existsSync(m.tempDir), `temporary directory ${m.tempDir} exists while running`);
  assert.is(await m.kill(), 137);
  assert.not.ok(existsSync(`/proc/${m.pid}`), `process ${m.pid} is gone`);
  assert.not.ok(existsSync(m.tempDir), `temporary directory ${m.tempDir} removed`);
  assert.is(await m.stop(), 137);
  assert.is(await m.stop(), 137);
  await m.sendText('x').then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /^sendText: QEMU of killed has exited/));
});

QemuMachine('QEMU refusing to start (image locked by another machine): BankforgeError with its message', async () => {
  const image = await helloImage(512, 'locked');
  const first = await Machine.start({ image, name: 'holder' });
  machines.push(first);
  const e = await Machine.start({ image, name: 'second' }).then(() => undefined, (x: unknown) => x);
  await first.kill();
  assert.instance(e, BankforgeError);
  assert.match((e as Error).message, /^QEMU did not start second \(exit status 1\):\n.*Failed to get "write" lock/);
});

QemuMachine('stop: QEMU quits through QMP with status 0, twice is safe', async () => {
  const m = await Machine.start({ image: await helloImage(512), snapshot: true, name: 'stopped' });
  machines.push(m);
  assert.is(await m.stop(), 0);
  assert.is(await m.stop(), 0);
  assert.is(await m.exited, 0);
  assert.not.ok(existsSync(`/proc/${m.pid}`));
});

interface DecodedPng { width: number; height: number; brightPixels: number }

/** Checks signature, chunk CRCs, IHDR (8-bit RGB) and the inflated size; undoes row filters to count bright pixels. */
function decodePng(buf: Buffer): DecodedPng {
  assert.equal([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at < buf.length;) {
    const length = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + length);
    assert.is(buf.readUInt32BE(at + 8 + length), CRC32.buf(buf.subarray(at + 4, at + 8 + length)) >>> 0, `CRC of ${type} chunk at ${at}`);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal([data[8], data[9]], [8, 2], 'bit depth 8, colour type 2 (RGB)');
    }
    if (type === 'IDAT') idat.push(data);
    at += 12 + length;
    if (type === 'IEND') assert.is(at, buf.length, 'IEND is last');
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 3;
  assert.is(raw.length, height * (1 + stride), 'inflated image data size');
  let brightPixels = 0;
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (1 + stride)]!;
    const row = Buffer.from(raw.subarray(y * (1 + stride) + 1, (y + 1) * (1 + stride)));
    for (let x = 0; x < stride; x++) {
      const a = x >= 3 ? row[x - 3]! : 0;
      const b = prev[x]!;
      const c = x >= 3 ? prev[x - 3]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter];
      assert.ok(predictor !== undefined, `row ${y}: filter type ${filter}`);
      row[x] = (row[x]! + predictor!) & 0xff;
    }
    for (let x = 0; x < stride; x += 3) if (row[x]! + row[x + 1]! + row[x + 2]! > 300) brightPixels++;
    prev = row;
  }
  return { width, height, brightPixels };
}

QemuMachine.run();
