// The BIOS image each machine gets (qemu/firmware-image.ts): 0xFF over the TPM's registers, OVMF's
// variable store and code ending at 4 GiB as the edk2 build lays out OVMF.fd, a hole between, and
// firmware files too large for it refused by name before anything is written.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, stat, truncate, copyFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FIRMWARE_IMAGE_BYTES, TPM_REGISTERS_BASE, TPM_REGISTERS_BYTES, writeFirmwareImage } from '../../qemu/firmware-image.js';
import { DEFAULT_OVMF_DIR } from '../../qemu/ovmf.js';
import { BankforgeError, EXIT } from '../../support/errors.js';
import { scratch } from '../helpers/tools.js';

const { dir, cleanup } = await scratch('bankforge-firmware-image-');
const ovmf = { code: join(DEFAULT_OVMF_DIR, 'OVMF_CODE_4M.fd'), varsTemplate: join(DEFAULT_OVMF_DIR, 'OVMF_VARS_4M.fd') };

test('18.75 MiB from the TPM window to 4 GiB: 0xFF there, then a hole, then the variable store and the code', async () => {
  assert.is(TPM_REGISTERS_BASE + FIRMWARE_IMAGE_BYTES, 2 ** 32);
  assert.is(FIRMWARE_IMAGE_BYTES % 65536, 0, 'QEMU takes a BIOS image in 64 KiB units');
  const out = join(dir, 'firmware.fd');
  writeFirmwareImage(ovmf, out);
  const image = await readFile(out);
  const [vars, code] = [await readFile(ovmf.varsTemplate), await readFile(ovmf.code)];
  assert.is(image.length, FIRMWARE_IMAGE_BYTES);
  assert.ok(image.subarray(0, TPM_REGISTERS_BYTES).every((b) => b === 0xff), 'TPM localities 0-4 read 0xFF');
  const firmwareAt = image.length - vars.length - code.length;
  assert.ok(image.subarray(TPM_REGISTERS_BYTES, firmwareAt).every((b) => b === 0), 'zeros between, as unmapped memory reads');
  assert.ok(image.subarray(firmwareAt, firmwareAt + vars.length).equals(vars));
  assert.ok(image.subarray(image.length - code.length).equals(code));
  // The zeros are a hole: each machine writes only what it must.
  assert.ok((await stat(out)).blocks * 512 < vars.length + code.length + 1024 * 1024, 'the gap takes no space');
});

test('never over an existing file', () => {
  assert.throws(() => writeFirmwareImage(ovmf, join(dir, 'firmware.fd')), /EEXIST/);
});

test('firmware files larger together than the room below 4 GiB: refused by name before they are read, exit 3, nothing written', async () => {
  // 8 GiB of hole: read whole, it would fail as an allocation, not as the user's mistake.
  const big = join(dir, 'BIG_CODE.fd');
  await copyFile(ovmf.code, big);
  await truncate(big, 8 * 2 ** 30);
  const out = join(dir, 'too-big.fd');
  const e = (() => { try { writeFirmwareImage({ ...ovmf, code: big }, out); } catch (x) { return x; } return undefined; })();
  assert.instance(e, BankforgeError);
  assert.is((e as BankforgeError).exitCode, EXIT.input);
  assert.match((e as Error).message, `UEFI firmware ${big} (${8 * 2 ** 30} bytes) and ${ovmf.varsTemplate}`);
  assert.not.ok(existsSync(out));
});

test.after(cleanup);
test.run();
