// The README's quick start, its own commands: the first must build the default image and boot it
// in QEMU to the kernel's ready line. It runs in a copy of the working tree (the files git tracks
// or would track, and node_modules hard-linked), so that its setup step never rewrites the dist/
// this suite is running from. The copy has this suite's dist/, which setup.sh made from the same
// sources: setup.sh keeps it (its record matches) instead of compiling them again (~15 s of
// CPU), as it does for a user's second quick start. Compiling into an empty dist/, a user's first,
// is what every suite run's own set-up does on a fresh clone in CI.

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
    // -a: the launcher tells the bundle from a newer tsc output by their times.
    await mustRun('cp', ['-a', join(repoRoot, 'dist'), dir]);
    const r = await tool('sh', ['-c', commands[0]!], undefined, dir);
    assert.is(r.exitCode, 0, r.all.slice(-3000));
    assert.match(r.stderr, /^setup: dist\/ is up to date with the sources$/m,
      "setup.sh compiled again the sources this suite's dist/ was made from (run this file through npm test or scripts/test.sh, whose setup.sh records them; a bare npm run build does not)");
    assert.match(r.stdout, /^bankforge: ready version=0\.0\.0-dev bank=A /m, r.all.slice(-3000));
    assert.match(r.all, /bankforge: matched/);
  } finally {
    await cleanup();
  }
});

test.run();
