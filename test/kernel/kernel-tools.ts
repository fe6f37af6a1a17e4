// Helpers for the kernel's tests: compile the kernel with the project's exact flags, compile the
// host test program around the kernel's pure parts, and boot images under QEMU + OVMF with the
// serial console captured (and a screenshot through QMP when asked).

import { spawn } from 'node:child_process';
import { copyFile, readdir, readFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { repoRoot, tool } from '../helpers/tools.js';

/** The kernel's compiler flags, as the brief and builder/pipeline/compile.ts give them. */
export const KERNEL_CFLAGS = [
  '-target', 'x86_64-unknown-none-elf', '-std=c11', '-O2', '-g', '-Wall', '-Wextra', '-Werror', '-ffreestanding',
  '-nostdlib', '-mno-red-zone', '-mno-mmx', '-mno-sse', '-mno-sse2', '-mgeneral-regs-only', '-fno-pic', '-fno-pie',
  '-fno-stack-protector', '-fno-omit-frame-pointer', '-mcmodel=small',
];

export interface KernelBuild { elf: string; ok: boolean; output: string }

/** kernel/*.c, kernel/*.S and common/*.c, one clang per unit, linked by kernel/kernel.ld. */
export async function compileKernel(dir: string): Promise<KernelBuild> {
  const units: string[] = [];
  for (const d of ['kernel', 'common']) {
    for (const f of (await readdir(join(repoRoot, d))).sort()) if (/\.(c|S)$/.test(f)) units.push(join(d, f));
  }
  const objects = units.map((u) => join(dir, `${u.replace(/[/.]/g, '_')}.o`));
  const results = await Promise.all(units.map((u, i) => tool('clang', [...KERNEL_CFLAGS, '-c', join(repoRoot, u), '-o', objects[i]!])));
  let output = results.map((r) => r.all).filter(Boolean).join('\n');
  if (results.some((r) => r.exitCode !== 0)) return { elf: '', ok: false, output };
  const elf = join(dir, 'kernel.elf');
  const link = await tool('ld.lld', ['-nostdlib', '-static', '-no-pie', '-T', join(repoRoot, 'kernel/kernel.ld'), '-o', elf, ...objects]);
  output += link.all;
  return { elf, ok: link.exitCode === 0, output };
}

/** test/kernel/host.c with kernel/{libc,cmdline,mem,font}.c for the host; the kernel units get
 * their libc names renamed so they run the kernel's code, not the C library's. */
export async function compileHost(dir: string): Promise<string> {
  const rename = ['memcpy', 'memmove', 'memset', 'memcmp', 'strlen', 'strcmp'].map((f) => `-D${f}=k${f}`);
  const flags = ['-std=c11', '-O2', '-g', '-Wall', '-Wextra', '-Werror'];
  const objs: string[] = [];
  for (const u of ['libc', 'cmdline', 'mem', 'font']) {
    const o = join(dir, `${u}.o`);
    const r = await tool('clang', [...flags, '-ffreestanding', '-fno-builtin', ...rename, '-c', join(repoRoot, 'kernel', `${u}.c`), '-o', o]);
    if (r.exitCode !== 0) throw new Error(`compiling kernel/${u}.c for the host failed:\n${r.all}`);
    objs.push(o);
  }
  const exe = join(dir, 'host');
  const r = await tool('clang', [...flags, '-D_GNU_SOURCE', '-o', exe, join(repoRoot, 'test/kernel/host.c'), ...objs]);
  if (r.exitCode !== 0) throw new Error(`compiling test/kernel/host.c failed:\n${r.all}`);
  return exe;
}

export interface BootOptions {
  /** Extra QEMU arguments; the disk is attached by `disk` (default: virtio-blk). */
  qemu?: string[];
  /** How the image is attached: virtio-blk (optionally 4Kn) or a USB stick on xHCI. */
  disk?: 'virtio' | 'virtio-4k' | 'usb';
  /** Stop once the serial output matches (after `settleMs` more); otherwise wait for QEMU to exit. */
  until?: RegExp;
  settleMs?: number;
  /** Take a screenshot (PPM) once `until` matched. */
  screenshot?: string;
  /** A ceiling only: a boot takes ~10 s alone, but many times that when the suite runs QEMUs side by side on two cores. */
  timeoutMs?: number;
}

export interface BootResult { serial: string; exited: boolean; timedOut: boolean }

/** Boot `image` under QEMU (TCG, q35, OVMF, -no-reboot so a reset ends QEMU) on a private copy
 * of the OVMF variables. */
export async function boot(image: string, scratchDir: string, opts: BootOptions = {}): Promise<BootResult> {
  const vars = join(scratchDir, `vars-${Math.random().toString(36).slice(2)}.fd`);
  await copyFile('/usr/share/OVMF/OVMF_VARS_4M.fd', vars);
  const qmp = join(scratchDir, `qmp-${Math.random().toString(36).slice(2)}.sock`);
  const drive = ['-drive', `if=none,id=d,file=${image},format=raw`];
  const disk = opts.disk ?? 'virtio';
  const device = disk === 'usb'
    ? ['-device', 'qemu-xhci', '-device', 'usb-storage,drive=d,bootindex=0']
    : ['-device', `virtio-blk-pci,drive=d,bootindex=0${disk === 'virtio-4k' ? ',logical_block_size=4096,physical_block_size=4096' : ''}`];
  const args = [
    '-machine', 'q35', '-m', '256', '-nodefaults', '-vga', 'std', '-display', 'none', '-no-reboot',
    '-drive', 'if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd',
    '-drive', `if=pflash,format=raw,file=${vars}`, ...drive, ...device,
    '-serial', 'stdio', '-qmp', `unix:${qmp},server=on,wait=off`, ...(opts.qemu ?? []),
  ];
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let serial = '';
  let matched = false;
  return new Promise<BootResult>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, opts.timeoutMs ?? 240_000);
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (s: string) => {
      serial += s.replace(/\r/g, '');   // the kernel sends CR LF; JS's '.' stops at a CR
      if (opts.until && !matched && opts.until.test(serial)) {
        matched = true;
        setTimeout(async () => {
          try {
            if (opts.screenshot) await screendump(qmp, opts.screenshot);
          } catch (e) {
            serial += `\n[screendump failed: ${String(e)}]\n`;
          }
          child.kill('SIGKILL');
        }, opts.settleMs ?? 0);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => { serial += `[qemu: ${s}]`; });
    child.on('error', reject);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve({ serial, exited: !matched && !timedOut, timedOut });
    });
  });
}

/** QMP: negotiate, then screendump (QEMU's default format, binary PPM). */
async function screendump(socket: string, file: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const c = createConnection(socket);
    let buf = '';
    let step = 0;
    c.setEncoding('utf8');
    c.on('error', reject);
    c.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl)) as { QMP?: unknown; return?: unknown; error?: { desc: string } };
        buf = buf.slice(nl + 1);
        if (msg.error) { c.destroy(); reject(new Error(msg.error.desc)); return; }
        if (msg.QMP && step === 0) { step = 1; c.write('{"execute":"qmp_capabilities"}\n'); }
        else if (msg.return !== undefined && step === 1) { step = 2; c.write(JSON.stringify({ execute: 'screendump', arguments: { filename: file } }) + '\n'); }
        else if (msg.return !== undefined && step === 2) { c.end(); resolve(); }
      }
    });
  });
}

export interface Ppm { width: number; height: number; rgb: Buffer }

export async function readPpm(file: string): Promise<Ppm> {
  const data = await readFile(file);
  const m = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(data.subarray(0, 64).toString('latin1'));
  if (!m) throw new Error(`${file} is not a binary PPM`);
  return { width: Number(m[1]), height: Number(m[2]), rgb: data.subarray(m[0].length) };
}
