// Finding the firmware (qemu/ovmf.ts): OVMF_CODE_4M.fd and OVMF_VARS_4M.fd in BANKFORGE_OVMF_DIR,
// else Debian's directory; a missing one is refused by name with the package to install, exit 3.
// What the files hold (a FIFO, a directory, empty, too large) is checked where they are read:
// test/qemu/firmware-image.test.ts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { findOvmf, DEFAULT_OVMF_DIR } from '../../qemu/ovmf.js';
import { BankforgeError, EXIT } from '../../support/errors.js';
import { scratch } from '../helpers/tools.js';

const { dir, cleanup } = await scratch('bankforge-ovmf-');
const saved = process.env.BANKFORGE_OVMF_DIR;
// Set while this file's tests run, not at import: uvu imports every file before running any.
test.before(() => { process.env.BANKFORGE_OVMF_DIR = dir; });
await copyFile(join(DEFAULT_OVMF_DIR, 'OVMF_CODE_4M.fd'), join(dir, 'OVMF_CODE_4M.fd'));
const vars = join(dir, 'OVMF_VARS_4M.fd');

test('both files there: found in BANKFORGE_OVMF_DIR', async () => {
  await copyFile(join(DEFAULT_OVMF_DIR, 'OVMF_VARS_4M.fd'), vars);
  assert.equal(await findOvmf(), { code: join(dir, 'OVMF_CODE_4M.fd'), varsTemplate: vars });
});

test('one missing: refused by name, with the package to install, exit 3', async () => {
  await rm(vars, { force: true });
  const e = await findOvmf().then(() => undefined, (x: unknown) => x);
  assert.instance(e, BankforgeError);
  assert.is((e as BankforgeError).exitCode, EXIT.input);
  assert.match((e as Error).message, `UEFI firmware ${vars} not found; install the Debian package ovmf`);
});

test.after(async () => {
  if (saved === undefined) delete process.env.BANKFORGE_OVMF_DIR;
  else process.env.BANKFORGE_OVMF_DIR = saved;
  await cleanup();
});
test.run();
