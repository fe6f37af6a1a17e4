// OVMF as one ROM image for -bios, long enough to reach down to the TPM's registers.
//
// OVMF's PEI phase looks for a TPM at 0xFED40000 (TIS/PTP, TCG PC Client Platform TPM Profile):
// it polls the locality 0 Access register for up to 750 ms, twice (TPM 1.2, then TPM 2.0), and
// only a read of 0xFF means "nothing there". QEMU reads unmapped memory as 0, so every firmware
// start waited 1.6 s in a busy loop. A ROM that covers the TPM window and holds 0xFF there makes
// the answer immediate. QEMU maps the -bios image just below 4 GiB with no size limit (flash stops
// at 16 MiB, short of the window) and below the chipset's own devices, which win where they overlap.
//
// Layout, as the edk2 build lays out OVMF.fd: the variable store, then the code, ending at 4 GiB.
// Everything else is a hole: it reads as 0, as unmapped memory did.

import { closeSync, ftruncateSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { BankforgeError, EXIT } from '../support/errors.js';
import type { OvmfFiles } from './ovmf.js';

/** Where the TPM's registers start (locality 0). */
export const TPM_REGISTERS_BASE = 0xfed4_0000;
/** Localities 0-4, 4 KiB each. */
export const TPM_REGISTERS_BYTES = 5 * 0x1000;
/** From the TPM's registers up to 4 GiB: 18.75 MiB, a multiple of the 64 KiB QEMU requires of a BIOS image. */
export const FIRMWARE_IMAGE_BYTES = 2 ** 32 - TPM_REGISTERS_BASE;

/** Writes the image to `path`, a new file (in the machine's own temporary directory). */
export function writeFirmwareImage(ovmf: OvmfFiles, path: string): void {
  // Sizes first: BANKFORGE_OVMF_DIR may name anything, and nothing larger than the room is read.
  const [varsBytes, codeBytes] = [statSync(ovmf.varsTemplate).size, statSync(ovmf.code).size];
  const room = FIRMWARE_IMAGE_BYTES - TPM_REGISTERS_BYTES;
  if (varsBytes + codeBytes > room) {
    throw new BankforgeError(`UEFI firmware ${ovmf.code} (${codeBytes} bytes) and ${ovmf.varsTemplate} (${varsBytes} bytes) are larger together than the ${room} bytes below 4 GiB that the runner has room for`, EXIT.input);
  }
  const vars = readFileSync(ovmf.varsTemplate);
  const code = readFileSync(ovmf.code);
  // The files changed size between the stat and the read: placed by the sizes read, checked again.
  if (vars.length + code.length > room) throw new BankforgeError(`UEFI firmware ${ovmf.code} or ${ovmf.varsTemplate} grew while it was read`, EXIT.input);
  const fd = openSync(path, 'wx');
  try {
    ftruncateSync(fd, FIRMWARE_IMAGE_BYTES);
    writeSync(fd, Buffer.alloc(TPM_REGISTERS_BYTES, 0xff), 0, TPM_REGISTERS_BYTES, 0);
    writeSync(fd, vars, 0, vars.length, FIRMWARE_IMAGE_BYTES - code.length - vars.length);
    writeSync(fd, code, 0, code.length, FIRMWARE_IMAGE_BYTES - code.length);
  } finally {
    closeSync(fd);
  }
}
