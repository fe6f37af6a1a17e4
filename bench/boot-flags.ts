// What each QEMU flag of the runner's machine costs or saves at boot: QEMU started directly with
// qemu/args.ts's command line (QMP left out, in every variant alike) and with one change at a
// time, timed to efi-hello's first line on COM1. Variants run in turn, in a fresh random order each
// round (timing.ts, shuffled), so a busy machine slows all alike; median of RUNS each. Used by bench/boot.ts; docs/qemu.md keeps the list.

import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineArgs } from '../qemu/args.js';
import { findQemu } from '../qemu/binary.js';
import { findOvmf } from '../qemu/ovmf.js';
import { writeFirmwareImage } from '../qemu/firmware-image.js';
import { HELLO, helloImage } from '../test/fixtures/efi-hello/image.js';
import { processCpuMs } from '../test/helpers/machine.js';
import { shuffled } from './timing.js';

/** Firmware files a variant may put in place of the runner's. */
interface Files { code: string; vars: string; code2m: string; vars2m: string; writableVars: string }
export interface Variant { name: string; edit: (args: string[], files: Files) => string[] }

/** OVMF in two flash chips instead of the runner's -bios image. */
const flash = (code: string, vars: string, varsWritable: boolean) => (a: string[]) => a.flatMap((x, i) => (x === '-bios'
  ? ['-drive', `if=pflash,unit=0,format=raw,readonly=on,file=${code}`, '-drive', `if=pflash,unit=1,format=raw${varsWritable ? '' : ',readonly=on'},file=${vars}`]
  : a[i - 1] === '-bios' ? [] : [x]));

/** Replaces the value after `flag` (first occurrence). */
const setFlag = (flag: string, value: string) => (a: string[]) => a.map((x, i) => (a[i - 1] === flag && a.indexOf(flag) === i - 1 ? value : x));

export const VARIANTS: Variant[] = [
  { name: 'the runner\'s machine (qemu/args.ts)', edit: (a) => a },
  { name: 'without -nodefaults (default NIC, CD-ROM, VGA)', edit: (a) => a.filter((x) => x !== '-nodefaults') },
  { name: '-vga none (no GOP framebuffer)', edit: setFlag('-vga', 'none') },
  // The earlier runners whole: their firmware, and q35's AHCI controller, which they always had.
  { name: 'OVMF in read-only flash, which stops short of the TPM (the runner until 2026-11-30 evening)', edit: (a, f) => setFlag('-machine', 'q35')(flash(f.code, f.vars, false)(a)) },
  { name: 'OVMF in flash, a writable private copy of the variable store (the runner until 2026-11-30)', edit: (a, f) => setFlag('-machine', 'q35')(flash(f.code, f.writableVars, true)(a)) },
  { name: 'OVMF 2 MiB code + 128 KiB variable store, in read-only flash', edit: (a, f) => flash(f.code2m, f.vars2m, false)(a) },
  { name: 'with q35\'s AHCI controller (-machine q35, the runner until 2026-11-30 evening)', edit: setFlag('-machine', 'q35') },
  { name: '-machine q35,sata=off,smm=off', edit: setFlag('-machine', 'q35,sata=off,smm=off') },
  { name: '-machine q35,sata=off,hpet=off', edit: setFlag('-machine', 'q35,sata=off,hpet=off') },
  { name: '-m 128', edit: setFlag('-m', '128') },
  { name: "-cpu qemu64 (QEMU's default: AMD's vendor string)", edit: setFlag('-cpu', 'qemu64') },
  { name: '-cpu qemu64,vendor=GenuineIntel', edit: setFlag('-cpu', 'qemu64,vendor=GenuineIntel') },
];

export interface Timing { ms: number; cpuMs: number }

function bootOnce(qemu: string, args: string[]): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(qemu, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '', err = '';
    let timer: NodeJS.Timeout | undefined = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no hello within 120 s: ${err}`)); }, 120_000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('latin1');
      if (HELLO.com1.test(out) && timer) {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        clearTimeout(timer);
        timer = undefined;
        void processCpuMs(child.pid!).then((cpuMs) => {
          child.kill('SIGKILL');
          child.once('close', () => resolve({ ms, cpuMs }));
        }, reject);
      }
    });
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    child.once('close', (code) => { clearTimeout(timer); if (!HELLO.com1.test(out)) reject(new Error(`QEMU exited ${code}: ${err}`)); });
  });
}

/** Median wall and CPU ms to hello for each variant. */
export async function measureFlags(runs: number, variants = VARIANTS): Promise<({ name: string } & Timing)[]> {
  const qemu = findQemu();
  const ovmf = await findOvmf();
  const image = await helloImage(512);
  const dir = await mkdtemp(join(tmpdir(), 'bankforge-bench-flags-'));
  try {
    const firmware = join(dir, 'firmware.fd');
    await writeFirmwareImage(ovmf, firmware);
    const base = machineArgs({
      name: 'flags', accel: 'tcg', memMiB: 256, firmware,
      disk: { format: 'raw', sectorSize: 512, path: image, bus: 'virtio', snapshot: true },
      gui: false, serialLog: undefined, qmpFd: 3, extraArgs: [],
    }).filter((x, i, a) => !/^socket,id=qmp|^chardev=qmp/.test(x) && !/^socket,id=qmp|^chardev=qmp/.test(a[i + 1] ?? ''));
    const times: Timing[][] = variants.map(() => []);
    for (let r = 0; r < runs; r++) {
      for (const [k, v] of shuffled([...variants.entries()])) {
        // A fresh copy each boot, as the runner made one per machine.
        const writableVars = join(dir, 'OVMF_VARS.fd');
        await copyFile(ovmf.varsTemplate, writableVars);
        const files = { code: ovmf.code, vars: ovmf.varsTemplate, code2m: join(ovmf.code, '..', 'OVMF_CODE.fd'), vars2m: join(ovmf.code, '..', 'OVMF_VARS.fd'), writableVars };
        times[k]!.push(await bootOnce(qemu, v.edit(base, files)));
      }
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    return variants.map((v, k) => ({ name: v.name, ms: median(times[k]!.map((t) => t.ms)), cpuMs: median(times[k]!.map((t) => t.cpuMs)) }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const rows = await measureFlags(runs);
  console.log(`QEMU start -> efi-hello's first line, median of ${runs} boots each, in a random order each round (TCG, virtio-blk)`);
  for (const r of rows) console.log(`wall ${(r.ms / 1000).toFixed(2)} s  CPU ${(r.cpuMs / 1000).toFixed(2)} s (${r.cpuMs <= rows[0]!.cpuMs ? '-' : '+'}${Math.abs(r.cpuMs - rows[0]!.cpuMs).toFixed(0)} ms)  ${r.name}`);
}
