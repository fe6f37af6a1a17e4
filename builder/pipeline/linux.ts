// A stock Linux kernel as a bank's payload (docs/boot-protocol.md, "Linux payloads"): what the
// bank calls its files, and the check that the kernel is one the loader can start, an x86_64
// bzImage with the EFI stub (a PE32+ image the firmware's LoadImage accepts), so that a build or
// bundle refuses a wrong file instead of making a bank the loader will mark "load failed".

import { BankforgeError } from '../../support/errors.js';
import { readRegularFile } from '../../support/regular-file.js';
import type { LayoutSpec } from '../layout/types.js';

export const LINUX_KERNEL_FILE = 'vmlinuz';
export const LINUX_INITRD_FILE = 'initrd.img';

export interface LinuxPayload {
  /** Host path of the kernel image (bzImage with the EFI stub). */
  kernel: string;
  /** Host path of the initramfs, when there is one. */
  initrd?: string;
}

/** x86 boot protocol (Documentation/arch/x86/boot.rst) and PE/COFF offsets the check reads. */
const BZIMAGE = {
  headerMagicAt: 0x202, headerMagic: 'HdrS',
  versionAt: 0x206,
  /** The MS-DOS stub's pointer to the PE header. */
  peOffsetAt: 0x3c,
  peMachineAmd64: 0x8664,
} as const;

/** Throws naming `path` unless `data` is a bzImage with an x86_64 EFI stub. */
export function checkLinuxKernel(data: Buffer, path: string): void {
  const fail = (why: string): never => { throw new BankforgeError(`${path}: not a Linux kernel the loader can start (${why}); give an x86_64 bzImage built with CONFIG_EFI_STUB, as distributions ship it`); };
  if (data.length < 0x400) fail(`${data.length} bytes`);
  if (data.toString('latin1', 0, 2) !== 'MZ') fail('no MZ header: not a PE image');
  if (data.toString('latin1', BZIMAGE.headerMagicAt, BZIMAGE.headerMagicAt + 4) !== BZIMAGE.headerMagic) fail("no 'HdrS' at byte 0x202: not a bzImage");
  const pe = data.readUInt32LE(BZIMAGE.peOffsetAt);
  if (pe + 6 > data.length || data.toString('latin1', pe, pe + 4) !== 'PE\0\0') fail(`no PE header at byte ${pe}: built without the EFI stub`);
  const machine = data.readUInt16LE(pe + 4);
  if (machine !== BZIMAGE.peMachineAmd64) fail(`PE machine 0x${machine.toString(16)}, not x86_64 (0x8664)`);
}

/**
 * The bank's payload and command line: the caller's Linux kernel, else the layout's "linux", else
 * our kernel. A command line given by the caller wins; empty falls back to the layout's cmdline.
 */
export function linuxInputs(layout: LayoutSpec, linux: LinuxPayload | undefined, kernelopt: string | undefined): { kernelopt: string; linux?: LinuxPayload } {
  if (linux) return { kernelopt: kernelopt || layout.linux?.cmdline || '', linux };
  if (layout.linux) {
    return { kernelopt: kernelopt || layout.linux.cmdline, linux: { kernel: layout.linux.kernel, ...(layout.linux.initrd ? { initrd: layout.linux.initrd } : {}) } };
  }
  return { kernelopt: kernelopt ?? '' };
}

/** Kernels, initramfs images and busybox: far above any real one, below what one Buffer holds. */
const INPUT_MAX = 1 << 30;

/** A host file the user named: a regular file (a FIFO is refused, not waited on) of at most 1 GiB. */
export async function readInput(path: string, what: string): Promise<Buffer> {
  return readRegularFile(path, INPUT_MAX, what);
}
