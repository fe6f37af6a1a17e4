// Boots an image for the kernel's tests on the qemu/ Machine (docs/qemu.md) and gives back its
// serial output as one text, so that a test can match patterns spanning lines (a backtrace).
// With -no-reboot, the reset that ends a kernel panic makes QEMU exit, which the test observes.

import { setTimeout as sleep } from 'node:timers/promises';
import { Machine } from '../../qemu/index.js';
import { processCpuMs } from '../helpers/machine.js';

export interface BootOptions {
  /** Attach the image as a USB stick instead of virtio-blk. */
  usb?: boolean;
  sectorSize?: 512 | 4096;
  /** Stop once the serial output matches (after `settleMs` more); otherwise wait for QEMU to exit. */
  until?: RegExp;
  settleMs?: number;
  /** Write a PNG of the screen here once `until` matched. */
  screenshot?: string;
  /** Once `until` matched (and settled), how much CPU QEMU uses over this many ms. */
  idleMs?: number;
  /** A ceiling only: a boot takes ~10 s alone, but many times that when the suite runs QEMUs side by side on two cores. */
  timeoutMs?: number;
}

export interface BootResult {
  serial: string;
  exited: boolean;
  timedOut: boolean;
  /** With `idleMs`: QEMU's CPU time over that window, in ms (10 ms resolution). */
  idleCpuMs?: number;
}


export async function boot(image: string, opts: BootOptions = {}): Promise<BootResult> {
  const m = await Machine.start({ image, usb: opts.usb, sectorSize: opts.sectorSize, extraArgs: ['-no-reboot'] });
  let notes = '';
  const serial = () => m.output.replace(/\r/g, '') + notes;   // the kernel sends CR LF; JS's '.' stops at a CR
  let outcome: 'matched' | 'exited' | 'timeout';
  let idleCpuMs: number | undefined;
  try {
    // The first outcome stands (a promise settles once); the watchers go when QEMU does.
    outcome = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), opts.timeoutMs ?? 240_000);
      const unsubscribe = m.onOutput(() => { if (opts.until?.test(serial())) resolve('matched'); });
      void m.exited.then(() => { clearTimeout(timer); unsubscribe(); resolve('exited'); });
    });
    if (outcome === 'matched') {
      await sleep(opts.settleMs ?? 0);
      if (opts.screenshot) await m.screenshot(opts.screenshot).catch((e: unknown) => { notes += `\n[screenshot failed: ${String(e)}]\n`; });
      if (opts.idleMs) {
        const before = await processCpuMs(m.pid);
        await sleep(opts.idleMs);
        idleCpuMs = await processCpuMs(m.pid) - before;
      }
    }
  } finally {
    await m.kill();
  }
  return { serial: serial(), exited: outcome === 'exited', timedOut: outcome === 'timeout', ...(idleCpuMs === undefined ? {} : { idleCpuMs }) };
}
