// Finding the firmware (qemu/ovmf.ts): BANKFORGE_OVMF_DIR may name anything, and every machine
// reads the files whole, so what is not a readable, non-empty regular file is refused first, by
// name, with exit 3: a FIFO would leave the read waiting for a writer for ever.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findOvmf, DEFAULT_OVMF_DIR } from '../../qemu/ovmf.js';
import { BankforgeError, EXIT } from '../../support/errors.js';
import { mustRun, scratch } from '../helpers/tools.js';

const { dir, cleanup } = await scratch('bankforge-ovmf-');
const saved = process.env.BANKFORGE_OVMF_DIR;
// Set while this file's tests run, not at import: uvu imports every file before running any.
test.before(() => { process.env.BANKFORGE_OVMF_DIR = dir; });
await copyFile(join(DEFAULT_OVMF_DIR, 'OVMF_CODE_4M.fd'), join(dir, 'OVMF_CODE_4M.fd'));
const vars = join(dir, 'OVMF_VARS_4M.fd');

async function refused(): Promise<string> {
  const e = await findOvmf().then(() => undefined, (x: unknown) => x);
  assert.instance(e, BankforgeError);
  assert.is((e as BankforgeError).exitCode, EXIT.input);
  return (e as Error).message;
}

test('a readable regular variable store is found', async () => {
  await copyFile(join(DEFAULT_OVMF_DIR, 'OVMF_VARS_4M.fd'), vars);
  assert.equal(await findOvmf(), { code: join(dir, 'OVMF_CODE_4M.fd'), varsTemplate: vars });
});

test('missing, a FIFO, a directory or an empty file: refused by name, exit 3, without opening it', async () => {
  await rm(vars, { recursive: true, force: true });
  assert.match(await refused(), `UEFI firmware ${vars} not found`);
  await mustRun('mkfifo', [vars]);
  assert.match(await refused(), `UEFI firmware ${vars} is a FIFO;`);
  await rm(vars);
  await mkdir(vars);
  assert.match(await refused(), `UEFI firmware ${vars} is a directory;`);
  await rm(vars, { recursive: true });
  await writeFile(vars, '');
  assert.match(await refused(), `UEFI firmware ${vars} is empty;`);
});

test.after(async () => {
  if (saved === undefined) delete process.env.BANKFORGE_OVMF_DIR;
  else process.env.BANKFORGE_OVMF_DIR = saved;
  await cleanup();
});
test.run();
