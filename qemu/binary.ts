// Finding the host programs a machine needs on PATH, so a missing one is reported with the
// Debian package to install instead of as a spawn ENOENT.

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { BankforgeError } from '../support/errors.js';

export function which(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, program);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export const QEMU_PROGRAM = 'qemu-system-x86_64';

export function findQemu(): string {
  const path = which(QEMU_PROGRAM);
  if (!path) throw new BankforgeError(`${QEMU_PROGRAM} not found on PATH (${process.env.PATH ?? ''}); install the Debian package qemu-system-x86 (apt-get install qemu-system-x86)`);
  return path;
}
