// The kernel with its debug info, kept beside the image (`esxi.img` -> `esxi.img.kernel.elf`)
// so that `bankforge coredump` can turn a crash's addresses into functions and file:line. The
// bank carries the same ELF, but a bank is rewritten by upgrades, and the image is not always
// at hand where the dump is read.

import { copyFile } from 'node:fs/promises';
import { compileKernel } from './compile.js';
import { KERNEL_FILE } from './bank.js';
import type { Manifest } from '../manifest.js';
import { writeOutput } from '../../support/output-file.js';

export const debugKernelPath = (image: string): string => `${image}.kernel.elf`;

/** Copies the compiled kernel beside `image` when the build put it in a bank; returns the path, or undefined. */
export async function keepDebugKernel(image: string, manifest: Manifest): Promise<string | undefined> {
  if (!manifest.partitions.some((p) => p.files.some((f) => f.path === KERNEL_FILE))) return undefined;
  // compileKernel() is cached by the sources' hash: this is the ELF the build just put in the banks.
  const elf = (await compileKernel()).path;
  const out = debugKernelPath(image);
  await writeOutput(out, (tmp) => copyFile(elf, tmp));
  return out;
}
