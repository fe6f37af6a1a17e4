// Compiling the loader and the kernel: cached by content, and clear when the toolchain is missing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { join } from 'node:path';
import { repoRoot, scratch } from '../../helpers/tools.js';

const compileJs = join(repoRoot, 'dist', 'builder', 'pipeline', 'compile.js');

async function compileIn(cache: string, what: 'compileLoader' | 'compileKernel', env: Record<string, string> = {}) {
  const script = `import(${JSON.stringify(compileJs)}).then(async (m) => console.log(JSON.stringify(await m.${what}())), (e) => { throw e; })`;
  return execa(process.execPath, ['-e', script], { env: { PATH: process.env.PATH ?? '', BANKFORGE_CACHE: cache, ...env }, extendEnv: false, reject: false, all: true });
}

// The kernel's cache is checked where it is compiled uncached anyway (test/kernel/build.test.ts).
test('an unchanged loader is compiled once and then served from the cache, in another process', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const first = await compileIn(dir, 'compileLoader');
    assert.is(first.exitCode, 0, first.all);
    const a = JSON.parse(first.stdout);
    assert.is(a.cached, false);
    const second = JSON.parse((await compileIn(dir, 'compileLoader')).stdout);
    assert.equal(second, { path: a.path, cached: true });
    assert.ok(a.path.startsWith(dir));
  } finally {
    await cleanup();
  }
});

test('without clang on the PATH the error names the Debian package', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const r = await compileIn(dir, 'compileKernel', { PATH: '/nonexistent' });
    assert.is.not(r.exitCode, 0);
    assert.match(r.all, /clang not found: install the Debian package clang/);
  } finally {
    await cleanup();
  }
});

test.run();
