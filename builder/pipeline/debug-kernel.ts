// The kernel with its debug info, kept beside the image (`esxi.img` -> `esxi.img.kernel.elf`)
// so that `bankforge coredump` can turn a crash's addresses into functions and file:line. The
// bank carries the same ELF, but a bank is rewritten by upgrades, and the image is not always
// at hand where the dump is read.

import { copyFile, writeFile } from 'node:fs/promises';
import { writeOutput } from '../../support/output-file.js';

export const debugKernelPath = (image: string): string => `${image}.kernel.elf`;

/** Writes `elf`, the kernel the build put in the banks (BuildResult.kernelElf), beside `image`; returns the path, or undefined. */
export async function keepDebugKernel(image: string, elf: { path: string } | { data: Uint8Array } | undefined): Promise<string | undefined> {
  if (!elf) return undefined;
  const out = debugKernelPath(image);
  await writeOutput(out, (tmp) => ('path' in elf ? copyFile(elf.path, tmp) : writeFile(tmp, elf.data)));
  return out;
}
