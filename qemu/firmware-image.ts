// OVMF as one ROM image for -bios, long enough to reach down to the TPM's registers.
//
// OVMF's PEI phase looks for a TPM at 0xFED40000 (TIS/PTP, TCG PC Client Platform TPM Profile):
// it polls the locality 0 Access register for up to 750 ms, twice (TPM 1.2, then TPM 2.0), and
// only a read of 0xFF means "nothing there". QEMU reads unmapped memory as 0, so every firmware
// start waited 1.6 s in a busy loop. A ROM that covers the TPM window and holds 0xFF there makes
// the answer immediate. QEMU maps the -bios image so that it ends at 4 GiB, and takes any whole
// number of 64 KiB (flash stops at 16 MiB, short of the window); the chipset's own devices win
// where they overlap it.
//
// Layout, as the edk2 build lays out OVMF.fd: the variable store, then the code, ending at 4 GiB.
// Everything else is a hole: it reads as 0, as unmapped memory did.

import { closeSync, ftruncateSync, openSync } from 'node:fs';
import { FileInputError, readRegularFile } from '../support/regular-file.js';
import { writeAllAt } from '../support/write-all.js';
import type { OvmfFiles } from './ovmf.js';

/** Where the TPM's registers start (locality 0). */
export const TPM_REGISTERS_BASE = 0xfed4_0000;
/** Localities 0-4, 4 KiB each. */
export const TPM_REGISTERS_BYTES = 5 * 0x1000;
/** From the TPM's registers up to 4 GiB: 18.75 MiB, a multiple of the 64 KiB QEMU requires of a BIOS image. */
export const FIRMWARE_IMAGE_BYTES = 2 ** 32 - TPM_REGISTERS_BASE;

/** Writes the image to `path`, a new file (in the machine's own temporary directory). */
export async function writeFirmwareImage(ovmf: OvmfFiles, path: string): Promise<void> {
  // BANKFORGE_OVMF_DIR may name anything: each file is checked as it is opened (a FIFO, a
  // directory, a device), and nothing larger than the room left is read.
  const room = FIRMWARE_IMAGE_BYTES - TPM_REGISTERS_BYTES;
  const vars = await readRegularFile(ovmf.varsTemplate, room, 'UEFI firmware');
  const code = await readRegularFile(ovmf.code, room - vars.length, 'UEFI firmware');
  for (const [file, bytes] of [[ovmf.varsTemplate, vars], [ovmf.code, code]] as const) {
    if (bytes.length === 0) throw new FileInputError(`UEFI firmware ${file} is empty; BANKFORGE_OVMF_DIR must hold OVMF's OVMF_CODE_4M.fd and OVMF_VARS_4M.fd`);
  }
  if (vars.length + code.length > room) throw new FileInputError(`UEFI firmware ${ovmf.code} or ${ovmf.varsTemplate} grew while it was read`);
  const fd = openSync(path, 'wx');
  try {
    ftruncateSync(fd, FIRMWARE_IMAGE_BYTES);
    // Whole writes: a short one would leave a firmware the guest hangs in.
    writeAllAt(fd, Buffer.alloc(TPM_REGISTERS_BYTES, 0xff), 0);
    writeAllAt(fd, vars, FIRMWARE_IMAGE_BYTES - code.length - vars.length);
    writeAllAt(fd, code, FIRMWARE_IMAGE_BYTES - code.length);
  } finally {
    closeSync(fd);
  }
}
