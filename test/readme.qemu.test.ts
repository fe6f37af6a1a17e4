// The README's quick start, run as a user runs it: the first command must build the default
// image and boot it in QEMU to the kernel's ready line. It runs in a copy of the working tree
// (the files git tracks or would track, and node_modules hard-linked), so that its setup step's
// compile never rewrites the dist/ this suite is running from.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { copyTree, mustRun, repoRoot, scratch, tool } from './helpers/tools.js';

test('the README quick start is two commands, and the first boots the default image to ready', async () => {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const block = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const commands = block.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
  assert.equal(commands, ['npm run quickstart', 'npm test']);

  const { dir, cleanup } = await scratch('bankforge-readme-');
  try {
    await copyTree(dir);
    await mustRun('cp', ['-al', join(repoRoot, 'node_modules'), dir]);
    const r = await tool('sh', ['-c', commands[0]!], undefined, dir);
    assert.is(r.exitCode, 0, r.all.slice(-3000));
    assert.match(r.stdout, /^bankforge: ready version=0\.0\.0-dev bank=A /m, r.all.slice(-3000));
    assert.match(r.all, /bankforge: matched/);
  } finally {
    await cleanup();
  }
});

test.run();
