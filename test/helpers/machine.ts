// Booting images in tests: one machine per call, always ended, and the ceilings every QEMU test
// waits with. A boot takes 5-10 s alone under TCG, many times that when the suite runs QEMUs
// side by side on two cores: the ceilings are generous so that only a real hang fails.

import { readFile } from 'node:fs/promises';
import { Machine, type MachineOptions } from '../../qemu/index.js';

/** One wait for a line during a boot (firmware, loader, kernel up to ready). */
export const BOOT_MS = 180_000;
/** One step after ready (a prompt, a crypt, a configuration save). */
export const STEP_MS = 90_000;

/**
 * Starts a machine, runs `fn` on it, and always ends it: `stop` asks QEMU to quit (the default);
 * `kill` pulls the power at once, for a guest that would go on writing (a panicking kernel
 * resets and writes dump after dump).
 */
export async function withMachine<T>(opts: MachineOptions, fn: (m: Machine) => Promise<T>, end: 'stop' | 'kill' = 'stop'): Promise<T> {
  const m = await Machine.start(opts);
  try {
    return await fn(m);
  } finally {
    if (end === 'kill') await m.kill();
    await m.stop();
  }
}

/**
 * QEMU's exit status once the guest has powered itself off, or 'still running' after `ms`. The
 * timer is cleared either way: a pending one would keep the test process alive for all of `ms`.
 */
export async function exitWithin(m: Machine, ms: number): Promise<number | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([m.exited, new Promise<'still running'>((r) => { timer = setTimeout(() => r('still running'), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

/** The CPU time a live process (QEMU: `machine.pid`) has used so far, user + system from /proc/PID/stat, in ms of 10 ms resolution. */
export async function processCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}
