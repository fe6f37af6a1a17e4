// The boot chain end to end in QEMU (TCG): our loader picks a bank, verifies it and starts our
// kernel, which marks the bank good. Independent boots run two at a time (two cores).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { Bank, BootState } from '../../partitions/bankstate.js';
import { readBanks } from '../../disk/bank-state.js';
import { scratch } from '../helpers/tools.js';
import { cli } from '../helpers/cli.js';
import { buildQuiet, changeBank, corruptBankFile } from '../helpers/images.js';
import { BOOT_MS, STEP_MS, processCpuMs, withMachine } from '../helpers/machine.js';

const { dir, cleanup } = await scratch('bankforge-boot-');

async function image(name: string, opts: { layout?: string; version?: string; kernelopt?: string; bootTimeout?: number } = {}): Promise<string> {
  const out = join(dir, `${name}.img`);
  await buildQuiet({ layout: opts.layout ?? 'small', out, version: opts.version ?? '1.0.0', kernelopt: opts.kernelopt ?? '', bootTimeout: opts.bootTimeout ?? 0 });
  return out;
}

test('the default image boots bank A to the ready line; the same image boots as a USB stick', async () => {
  const img = await image('default', { layout: 'esxi', version: '2.3.4', bootTimeout: 3 });
  await Promise.all([
    withMachine({ image: img, snapshot: true }, async (m) => {
      await m.waitFor(/^booting bank A \(valid, updated 1, build 2\.3\.4\)$/, { timeoutMs: BOOT_MS });
      await m.waitFor(/^bankforge: ready version=2\.3\.4 bank=A loader_ms=\d+ kernel_ms=\d+$/, { timeoutMs: BOOT_MS });
    }),
    withMachine({ image: img, snapshot: true, usb: true }, async (m) => {
      await m.waitFor(/^disk: usb, 512-byte sectors/, { timeoutMs: BOOT_MS });
      await m.waitFor(/^bootdisk: boot disk is usb-storage xhci [0-9a-f:.]+ port \d+ lun 0$/, { timeoutMs: BOOT_MS });
      await m.waitFor(/^bank: A is valid; nothing to write$/, { timeoutMs: BOOT_MS });
      await m.waitFor(/^bankforge: ready version=2\.3\.4 bank=A /, { timeoutMs: BOOT_MS });
    }),
  ]);
});

test("the kernel's mark-good is on the disk afterwards; a corrupt kernel in bank A boots bank B", async () => {
  const trial = await image('trial');
  await changeBank(trial, Bank.A, (s) => { s.bootstate = BootState.New; });
  const corrupt = await image('corrupt', { version: '5.0.0' });
  await corruptBankFile(corrupt, Bank.A, 'kernel.elf');
  await Promise.all([
    withMachine({ image: trial }, async (m) => {
      await m.waitFor(/^bank A: on trial, try 1 of 3$/, { timeoutMs: BOOT_MS });
      await m.waitFor(/^bankforge: ready version=1\.0\.0 bank=A /, { timeoutMs: BOOT_MS });
    }),
    withMachine({ image: corrupt }, async (m) => {
      await m.waitFor(/^bank A: kernel\.elf: sha256 mismatch \(verification failed\), marked invalid$/, { timeoutMs: BOOT_MS });
      await m.waitFor(/^booting bank B /, { timeoutMs: BOOT_MS });
      await m.waitFor(/^bankforge: ready version=5\.0\.0 bank=B /, { timeoutMs: BOOT_MS });
    }),
  ]);
  const a = (await readBanks(trial)).banks[Bank.A]!.view.state;
  assert.is(a.bootstate, BootState.Valid);
  assert.is(a.triesLeft, 3);
  assert.equal(a.history.slice(0, 3).map((h) => h.event), [3, 2, 1], 'good <- try <- installed');
  const r = await cli(['inspect', corrupt]);
  assert.match(r.stdout, /^bootbank: bank A, invalid \(verification failed: kernel\.elf: sha256 mismatch\), version 5\.0\.0/m);
  assert.match(r.stdout, /^altbootbank: bank B, valid, version 5\.0\.0/m);
});

test('both banks broken: the loader says so and waits; the menu counts down with the CPU halted and boots the other bank on a key sent over serial', async () => {
  const broken = await image('broken');
  await corruptBankFile(broken, Bank.A, 'kernel.elf');
  await corruptBankFile(broken, Bank.B, 'kernel.elf');
  const menu = await image('menu', { bootTimeout: 20 });
  await Promise.all([
    withMachine({ image: broken }, async (m) => {
      await m.waitFor(/^bankforge: no bootable bank \(A: invalid: kernel\.elf: sha256 mismatch; B: invalid: kernel\.elf: sha256 mismatch\)$/, { timeoutMs: BOOT_MS });
      // Waiting, not rebooting or jumping: nothing more is printed.
      const seen = m.lines.length;
      await new Promise((r) => setTimeout(r, 3000));
      assert.is(m.lines.length, seen, m.lastLines().join('\n'));
    }),
    withMachine({ image: menu, snapshot: true }, async (m) => {
      await m.waitFor(/Press Enter to boot bank A now, 'o' \(or Shift\+R\) to boot the other bank/, { timeoutMs: BOOT_MS });
      // The countdown waits on a timer event, so the firmware halts: a Stall() loop took all
      // the CPU it was given (3 s in 3 s alone, 0.6 s or more with ten processes on two cores).
      const before = await processCpuMs(m.pid);
      await new Promise((r) => setTimeout(r, 3000));
      const used = await processCpuMs(m.pid) - before;
      assert.ok(used < 300, `QEMU used ${used} ms of CPU in 3000 ms of the menu's countdown`);
      await m.sendText('o');
      await m.waitFor(/^booting bank B /, { timeoutMs: STEP_MS });
      await m.waitFor(/^bankforge: ready version=1\.0\.0 bank=B /, { timeoutMs: BOOT_MS });
    }),
  ]);
});

test.after(cleanup);
test.run();
