// Choosing the accelerator. KVM can be present and still broken (a nested host that fails with
// "KVM internal error. Suberror: 1" as soon as guest code runs), so /dev/kvm is not evidence:
// the probe boots OVMF under -accel kvm and KVM counts as working only if the firmware gets as
// far as writing to the serial console. The answer is cached per kernel boot (keyed by
// /proc/sys/kernel/random/boot_id) in the OS temp directory; BANKFORGE_ACCEL=tcg|kvm overrides.

import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BankforgeError } from '../support/errors.js';
import { writeFirmwareImage } from './firmware-image.js';
import { forget, isRunning, launch } from './launch.js';
import type { OvmfFiles } from './ovmf.js';

export type Accel = 'kvm' | 'tcg';

export interface AccelChoice {
  accel: Accel;
  /** Why: the probe's verdict, the missing device, or the environment variable. */
  reason: string;
  source: 'env' | 'probe' | 'cache';
}

export interface KvmProbe { works: boolean; reason: string; elapsedMs: number }

/** Working KVM gets OVMF to its first console output in about a second; give it ample margin. */
export const PROBE_TIMEOUT_MS = 15_000;

const KVM_DEVICE = '/dev/kvm';

let choice: Promise<AccelChoice> | undefined;

/** The accelerator for this process's machines; probes at most once per process and per boot. */
export function chooseAccel(qemu: string, ovmf: OvmfFiles): Promise<AccelChoice> {
  const forced = process.env.BANKFORGE_ACCEL;
  if (forced) {
    if (forced !== 'kvm' && forced !== 'tcg') return Promise.reject(new BankforgeError(`BANKFORGE_ACCEL=${forced}: expected kvm or tcg`));
    return Promise.resolve({ accel: forced, reason: `BANKFORGE_ACCEL=${forced}`, source: 'env' });
  }
  choice ??= probeOrCache(qemu, ovmf);
  return choice;
}

interface CacheEntry { qemu: string; accel: Accel; reason: string }

async function probeOrCache(qemu: string, ovmf: OvmfFiles): Promise<AccelChoice> {
  try {
    await access(KVM_DEVICE, constants.R_OK | constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { accel: 'tcg', reason: code === 'ENOENT' ? `${KVM_DEVICE} does not exist` : `${KVM_DEVICE} is not usable (${code})`, source: 'probe' };
  }
  const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => 'unknown')).trim();
  const cacheFile = join(tmpdir(), `bankforge-accel-${bootId}.json`);
  const cached = await readFile(cacheFile, 'utf8').then((t) => JSON.parse(t) as CacheEntry).catch(() => undefined);
  if (cached?.qemu === qemu && (cached.accel === 'kvm' || cached.accel === 'tcg')) {
    return { accel: cached.accel, reason: cached.reason, source: 'cache' };
  }
  const probe = await probeKvm(qemu, ovmf);
  const entry: CacheEntry = { qemu, accel: probe.works ? 'kvm' : 'tcg', reason: probe.reason };
  // Written under a private name and renamed, so a concurrent reader never sees half a file.
  const partial = `${cacheFile}.${process.pid}`;
  await writeFile(partial, JSON.stringify(entry));
  await rename(partial, cacheFile);
  return { accel: entry.accel, reason: entry.reason, source: 'probe' };
}

/** Boots OVMF with no disk under -accel kvm until its first serial output, an error or the timeout. */
export async function probeKvm(qemu: string, ovmf: OvmfFiles, timeoutMs = PROBE_TIMEOUT_MS): Promise<KvmProbe> {
  const dir = await mkdtemp(join(tmpdir(), 'bankforge-kvm-probe-'));
  const started = Date.now();
  try {
    const firmware = join(dir, 'firmware.fd');
    await writeFirmwareImage(ovmf, firmware);
    const args = ['-machine', 'q35,sata=off', '-accel', 'kvm', '-m', '128', '-nodefaults', '-display', 'none', '-bios', firmware, '-serial', 'stdio'];
    const child = launch(qemu, args, ['ignore', 'pipe', 'pipe'], dir);
    const verdict = await new Promise<{ works: boolean; reason: string }>((resolve) => {
      let stderr = '';
      const timer = setTimeout(() => resolve({ works: false, reason: `OVMF wrote nothing to the serial console within ${timeoutMs} ms under KVM` }), timeoutMs);
      const done = (v: { works: boolean; reason: string }): void => { clearTimeout(timer); resolve(v); };
      child.stdout!.once('data', () => done({ works: true, reason: 'OVMF reached its console under KVM' }));
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        // QEMU does not exit on an internal error: it stops the guest and dumps registers.
        const internal = stderr.split('\n').find((l) => l.includes('KVM internal error'));
        if (internal) done({ works: false, reason: `KVM fails running guest code: ${internal.trim()}` });
      });
      child.on('error', (e) => done({ works: false, reason: `cannot run ${qemu}: ${e.message}` }));
      child.on('exit', (code, signal) => done({ works: false, reason: `QEMU under KVM exited (${signal ?? code}): ${firstLine(stderr) || 'no message'}` }));
    });
    child.kill('SIGKILL');
    if (isRunning(child)) await new Promise((resolve) => child.once('exit', resolve));
    forget(child);
    return { ...verdict, elapsedMs: Date.now() - started };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find(Boolean) ?? '';
}
