// The "bank" artifact: what the pipeline puts in a boot bank: boot.cfg in ESXi's key=value form,
// the kernel, the module archives the kernel unpacks into its in-memory filesystem (base.tar,
// from base/: docs/host.md), and SHA256SUMS, against which the loader checks every file it loads
// (docs/boot-protocol.md, "What a bank holds").

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeBootCfg, writeSums } from '../../partitions/bank-files.js';
import { BankforgeError } from '../../support/errors.js';
import { checkLinuxKernel, readInput, type LinuxPayload, LINUX_INITRD_FILE, LINUX_KERNEL_FILE } from './linux.js';
import type { FatTree } from '../../partitions/fat/index.js';
import { PACKAGE_ROOT } from '../../support/package-info.js';
import { treeEntries, ustar, type TarEntry } from './ustar.js';

export const KERNEL_FILE = 'kernel.elf';

/** The base system's module archive, made from base/ in the repository. */
export const BASE_MODULE = 'base.tar';
export const BASE_DIR = join(PACKAGE_ROOT, 'base');
/** boot.cfg modules=, in load order (the kernel unpacks them in this order). */
export const MODULES = [BASE_MODULE];

/**
 * boot.cfg watchdog= when the builder is not told: long enough for a slow kernel under QEMU's TCG
 * (a few seconds to mark-good), short enough that a hung trial is back within a minute or two.
 */
export const DEFAULT_WATCHDOG = 60;

/** build.ts's DEFAULT_EPOCH (2000-01-01), for callers that give no epoch. */
const DEFAULT_ARCHIVE_EPOCH = 946684800;

export interface BankInputs {
  /** The version being built: boot.cfg's build= and title, and the bank state's version. */
  version: string;
  /** ESXi's generation counter (informational here; the state record decides). */
  updated: number;
  /** Seconds the loader's menu waits; 0 = no menu. */
  timeout: number;
  /** Seconds a trial of this bank may run before it is marked good (docs/watchdog.md); 0 = no watchdog. Default DEFAULT_WATCHDOG. */
  watchdog?: number;
  /** The kernel command line. */
  kernelopt: string;
  /** SOURCE_DATE_EPOCH: the mtime of every entry in the module archives. */
  epoch?: number;
  /** Files the layout adds to base.tar (after base/, so they replace its files). */
  hostFiles?: TarEntry[];
  /** A stock Linux kernel (and initramfs) instead of ours: the bank then holds no base.tar (docs/boot-protocol.md, "Linux payloads"). */
  linux?: LinuxPayload;
}

export function bootCfg(inputs: BankInputs): Buffer {
  return writeBootCfg({
    bootstate: 0, title: `bankforge ${inputs.version}`, timeout: inputs.timeout, watchdog: inputs.watchdog ?? DEFAULT_WATCHDOG, kernel: KERNEL_FILE,
    kernelopt: inputs.kernelopt, initrd: '', modules: MODULES, build: inputs.version, updated: inputs.updated,
  });
}

/**
 * boot.cfg of a Linux bank: ESXi's keys, kernelopt the command line, initrd= the initramfs. No
 * watchdog: the loader arms it only for our kernel, which feeds it until mark-good; a Linux kernel
 * armed by the loader would be reset unless its own watchdog driver took over in time.
 */
export function linuxBootCfg(inputs: BankInputs, initrd: boolean): Buffer {
  if (inputs.watchdog) {
    throw new BankforgeError(`--watchdog ${inputs.watchdog}: the loader arms the watchdog for bankforge's own kernel only; a Linux payload runs without it (docs/watchdog.md)`);
  }
  return writeBootCfg({
    bootstate: 0, title: `bankforge ${inputs.version} (Linux)`, timeout: inputs.timeout, watchdog: 0, kernel: LINUX_KERNEL_FILE,
    kernelopt: inputs.kernelopt, initrd: initrd ? LINUX_INITRD_FILE : '', modules: [], build: inputs.version, updated: inputs.updated,
  });
}

/** A bank holding a Linux payload: boot.cfg, vmlinuz, initrd.img (when given), SHA256SUMS. */
export async function linuxBankArtifact(inputs: BankInputs, linux: LinuxPayload): Promise<FatTree> {
  const kernel = await readInput(linux.kernel, 'the Linux kernel');
  checkLinuxKernel(kernel, linux.kernel);
  const initrd = linux.initrd !== undefined ? await readInput(linux.initrd, 'the initramfs') : undefined;
  const cfg = linuxBootCfg(inputs, initrd !== undefined);
  const files: [string, Buffer][] = [['boot.cfg', cfg], [LINUX_KERNEL_FILE, kernel], ...(initrd ? [[LINUX_INITRD_FILE, initrd] as [string, Buffer]] : [])];
  const sums = writeSums(files);
  return new Map([['SHA256SUMS', sums] as [string, Buffer], ...files].map(([name, data]) => [name, { kind: 'file', size: data.length, source: { data } }]));
}

export async function bankArtifact(inputs: BankInputs, kernelPath: string): Promise<FatTree> {
  const kernel = readFileSync(kernelPath);
  const base = ustar([...treeEntries(BASE_DIR), ...(inputs.hostFiles ?? [])], inputs.epoch ?? DEFAULT_ARCHIVE_EPOCH);
  const cfg = bootCfg(inputs);
  // boot.cfg is listed too: it carries the kernel command line, which deserves the same check.
  const sums = writeSums([['boot.cfg', cfg], [KERNEL_FILE, kernel], [BASE_MODULE, base]]);
  return new Map([
    ['boot.cfg', { kind: 'file', size: cfg.length, source: { data: cfg } }],
    ['SHA256SUMS', { kind: 'file', size: sums.length, source: { data: sums } }],
    [KERNEL_FILE, { kind: 'file', size: kernel.length, source: { data: kernel } }],
    [BASE_MODULE, { kind: 'file', size: base.length, source: { data: base } }],
  ]);
}
