// Compiling the loader and the kernel: cached by content, and clear when the toolchain is missing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSources, sourcesOf, type SourceReads } from '../../../builder/pipeline/compile.js';
import { repoRoot, scratch } from '../../helpers/tools.js';

const compileJs = join(repoRoot, 'dist', 'builder', 'pipeline', 'compile.js');

async function compileIn(cache: string, what: 'compileLoader' | 'compileKernel', env: Record<string, string> = {}) {
  const script = `import(${JSON.stringify(compileJs)}).then(async (m) => console.log(JSON.stringify(await m.${what}((s) => console.error(s)))), (e) => { throw e; })`;
  return execa(process.execPath, ['-e', script], { env: { PATH: process.env.PATH ?? '', BANKFORGE_CACHE: cache, ...env }, extendEnv: false, reject: false });
}

// The kernel's cache is checked where it is compiled uncached anyway (test/kernel/build.test.ts).
test('an unchanged loader is compiled once: a second process started with it waits for it, and a later one finds it cached', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const both = await Promise.all([compileIn(dir, 'compileLoader'), compileIn(dir, 'compileLoader')]);
    for (const r of both) assert.is(r.exitCode, 0, r.stderr);
    const [made, waited] = both[0]!.stderr.includes('compiling the loader') ? both : [both[1]!, both[0]!];
    const a = JSON.parse(made.stdout);
    assert.is(a.cached, false);
    assert.ok(a.path.startsWith(dir));
    // Compiled in one of them only; the other was told why it waited, and took the same file.
    assert.not.match(waited.stderr, 'compiling the loader');
    assert.match(waited.stderr, `waiting for another build compiling the same loader into ${dir}`);
    assert.equal(JSON.parse(waited.stdout), { path: a.path, cached: true });
    const later = await compileIn(dir, 'compileLoader');
    assert.equal(JSON.parse(later.stdout), { path: a.path, cached: true });
    assert.is(later.stderr, '');
  } finally {
    await cleanup();
  }
});

test('without clang on the PATH the error names the Debian package', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const r = await compileIn(dir, 'compileKernel', { PATH: '/nonexistent' });
    assert.is.not(r.exitCode, 0);
    assert.match(r.stderr, /clang not found: install the Debian package clang/);
  } finally {
    await cleanup();
  }
});

test('readSources: with one build\'s reads, a file both programs cover (common/) is read once and gives both the same bytes', async () => {
  const reads: SourceReads = new Map();
  const loader = readSources(await sourcesOf(['bootloader', 'common']), reads);
  const kernel = readSources(await sourcesOf(['kernel', 'common']), reads);
  const common = kernel.filter((s) => s.path.startsWith('common/'));
  assert.ok(common.length > 0);
  for (const s of common) {
    assert.is(s.bytes, loader.find((l) => l.path === s.path)!.bytes, s.path);
    assert.equal(s.bytes, readFileSync(join(repoRoot, s.path)), s.path);
  }
  assert.is(reads.size, new Set([...loader, ...kernel].map((s) => s.path)).size);
});

test.run();
