// The builder's copy of the kernel's ramfs limits must be the kernel's: read them from the C.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KERNEL_RAMFS } from '../../builder/host-files.js';
import { repoRoot } from '../helpers/tools.js';

test('KERNEL_RAMFS equals kernel/system.h and kernel/ramfs.c', async () => {
  const sys = await readFile(join(repoRoot, 'kernel', 'system.h'), 'utf8');
  const ramfs = await readFile(join(repoRoot, 'kernel', 'ramfs.c'), 'utf8');
  assert.is(Number(/#define FS_NAME_MAX (\d+)/.exec(sys)?.[1]), KERNEL_RAMFS.nameMax);
  const fileMax = /#define USTAR_FILE_MAX \((\d+)u << (\d+)\)/.exec(sys);
  assert.is(Number(fileMax?.[1]) * 2 ** Number(fileMax?.[2]), KERNEL_RAMFS.fileMax);
  assert.is(Number(/#define NINODE (\d+)/.exec(ramfs)?.[1]), KERNEL_RAMFS.inodes);
});

test.run();
