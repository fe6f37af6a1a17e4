// The README's quick start, run as a user runs it: the first command must build the default
// image and boot it in QEMU to the kernel's ready line.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot, tool } from './helpers/tools.js';

test('the README quick start is two commands, and the first boots the default image to ready', async () => {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const block = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const commands = block.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
  assert.equal(commands, ['npm run quickstart', 'npm test']);
  const r = await tool('sh', ['-c', `cd "${repoRoot}" && ${commands[0]}`]);
  assert.is(r.exitCode, 0, r.all.slice(-3000));
  assert.match(r.stdout, /^bankforge: ready version=0\.0\.0-dev bank=A /m, r.all.slice(-3000));
  assert.match(r.all, /bankforge: matched/);
});

test.run();
