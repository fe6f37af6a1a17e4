// The UEFI firmware: OVMF's code and its variable store template, which each machine gets as one
// read-only BIOS image (qemu/firmware-image.ts). In ROM, OVMF keeps the variables in RAM for the
// machine's life: nothing leaks between machines or into the system's template, and no boot pays
// for OVMF's byte-by-byte flash writes (docs/qemu.md, "Where a boot's first seconds go").

import { access } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { BankforgeError } from '../support/errors.js';

/** Debian's ovmf package; BANKFORGE_OVMF_DIR points elsewhere (other distributions, own builds). */
export const DEFAULT_OVMF_DIR = '/usr/share/OVMF';

export interface OvmfFiles { code: string; varsTemplate: string }

export async function findOvmf(): Promise<OvmfFiles> {
  const dir = process.env.BANKFORGE_OVMF_DIR || DEFAULT_OVMF_DIR;
  const files = { code: join(dir, 'OVMF_CODE_4M.fd'), varsTemplate: join(dir, 'OVMF_VARS_4M.fd') };
  for (const path of Object.values(files)) {
    try {
      await access(path, constants.R_OK);
    } catch {
      throw new BankforgeError(`UEFI firmware ${path} not found; install the Debian package ovmf (apt-get install ovmf), or set BANKFORGE_OVMF_DIR to a directory with OVMF_CODE_4M.fd and OVMF_VARS_4M.fd`);
    }
  }
  return files;
}
