// The BIOS image each machine gets (qemu/firmware-image.ts): 0xFF over the TPM's registers, OVMF's
// variable store and code ending at 4 GiB as the edk2 build lays out OVMF.fd, a hole between, and
// firmware files that are not OVMF's (a FIFO, a directory, empty, too large for it) refused by name
// before they are read.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FIRMWARE_IMAGE_BYTES, TPM_REGISTERS_BASE, TPM_REGISTERS_BYTES, writeFirmwareImage } from '../../qemu/firmware-image.js';
import { DEFAULT_OVMF_DIR } from '../../qemu/ovmf.js';
import { BankforgeError, EXIT } from '../../support/errors.js';
import { mustRun, scratch } from '../helpers/tools.js';

const { dir, cleanup } = await scratch('bankforge-firmware-image-');
const ovmfDir = process.env.BANKFORGE_OVMF_DIR || DEFAULT_OVMF_DIR;
const ovmf = { code: join(ovmfDir, 'OVMF_CODE_4M.fd'), varsTemplate: join(ovmfDir, 'OVMF_VARS_4M.fd') };
const ROOM = FIRMWARE_IMAGE_BYTES - TPM_REGISTERS_BYTES;

/** The error writeFirmwareImage rejects with, or undefined. */
const failure = (files: typeof ovmf, out: string) => writeFirmwareImage(files, out).then(() => undefined, (e: unknown) => e);

/** A vars file of `varsBytes` and a code file of `codeBytes`: a first byte 0x5a, then a hole. */
async function sized(name: string, varsBytes: number, codeBytes: number): Promise<typeof ovmf> {
  const files = { varsTemplate: join(dir, `${name}-VARS.fd`), code: join(dir, `${name}-CODE.fd`) };
  for (const [path, size] of [[files.varsTemplate, varsBytes], [files.code, codeBytes]] as const) {
    await writeFile(path, Buffer.from([0x5a]));
    await truncate(path, size);
  }
  return files;
}

test('18.75 MiB from the TPM window to 4 GiB: 0xFF there, then a hole, then the variable store and the code', async () => {
  assert.is(TPM_REGISTERS_BASE + FIRMWARE_IMAGE_BYTES, 2 ** 32);
  assert.is(FIRMWARE_IMAGE_BYTES % 65536, 0, 'QEMU takes a BIOS image in 64 KiB units');
  const out = join(dir, 'firmware.fd');
  await writeFirmwareImage(ovmf, out);
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

test('never over an existing file', async () => {
  const out = join(dir, 'taken.fd');
  await writeFile(out, 'not ours');
  const e = await failure(ovmf, out);
  assert.match(String(e), /EEXIST/);
  assert.is(await readFile(out, 'utf8'), 'not ours');
});

test('firmware that fills the room exactly: placed, the TPM window still 0xFF', async () => {
  const files = await sized('exact', 64 * 1024, ROOM - 64 * 1024);
  const out = join(dir, 'exact.fd');
  await writeFirmwareImage(files, out);
  const image = await readFile(out);
  assert.ok(image.subarray(0, TPM_REGISTERS_BYTES).every((b) => b === 0xff));
  assert.is(image[TPM_REGISTERS_BYTES], 0x5a, 'the vars file starts right after the window');
});

test('one byte more, in the code or in the variable store, or 8 GiB: refused by name before it is read, exit 3, nothing written', async () => {
  for (const [name, varsBytes, codeBytes, big] of [
    ['code+1', 64 * 1024, ROOM - 64 * 1024 + 1, 'code'],
    ['vars+1', ROOM + 1, 4096, 'vars'],
    ['8g', 64 * 1024, 8 * 2 ** 30, 'code'],
  ] as const) {
    const files = await sized(name, varsBytes, codeBytes);
    const out = join(dir, `${name}.fd`);
    const e = await failure(files, out);
    assert.instance(e, BankforgeError, name);
    assert.is((e as BankforgeError).exitCode, EXIT.input);
    const path = big === 'code' ? files.code : files.varsTemplate;
    const size = big === 'code' ? codeBytes : varsBytes;
    const limit = big === 'code' ? ROOM - varsBytes : ROOM;
    assert.is((e as Error).message, `UEFI firmware ${path}: ${size} bytes; at most ${limit} are accepted`, name);
    assert.not.ok(existsSync(out), `${name}: nothing written`);
  }
});

test('a FIFO, a directory or an empty file in place of either: refused by name, exit 3, no wait, nothing written', async () => {
  for (const [kind, make, message] of [
    ['fifo', (p: string) => mustRun('mkfifo', [p]), (p: string) => `cannot read UEFI firmware ${p}: not a regular file (a FIFO)`],
    ['dir', (p: string) => mkdir(p), (p: string) => `cannot read UEFI firmware ${p}: not a regular file (a directory)`],
    ['empty', (p: string) => writeFile(p, ''), (p: string) => `UEFI firmware ${p} is empty; BANKFORGE_OVMF_DIR must hold OVMF's OVMF_CODE_4M.fd and OVMF_VARS_4M.fd`],
  ] as const) {
    for (const which of ['code', 'varsTemplate'] as const) {
      const files = { ...ovmf, [which]: join(dir, `${kind}-${which}.fd`) };
      await make(files[which]);
      const out = join(dir, `${kind}-${which}-firmware.fd`);
      const e = await failure(files, out);
      assert.instance(e, BankforgeError, `${kind} ${which}`);
      assert.is((e as BankforgeError).exitCode, EXIT.input);
      assert.is((e as Error).message, message(files[which]), `${kind} ${which}`);
      assert.not.ok(existsSync(out), `${kind} ${which}: nothing written`);
    }
  }
});

test.after(cleanup);
test.run();
