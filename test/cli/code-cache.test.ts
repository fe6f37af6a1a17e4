// bin/load-bundle.js compiles the CLI bundle from the V8 code cache made with it, and a missing,
// stale or damaged cache only costs time: the bundle still runs, from source.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot, scratch } from '../helpers/tools.js';

const { dir, cleanup } = await scratch('bankforge-code-cache-');
const bundleDir = join(dir, 'dist', 'cli-bundle');
const bundle = join(bundleDir, 'main.cjs');
const cacheFile = join(bundleDir, 'main.cache');
const built = await readFile(join(repoRoot, 'dist', 'cli-bundle', 'main.cache'));

// The bundle finds package.json two levels up, and fatfs and execa in node_modules, as installed.
await mkdir(bundleDir, { recursive: true });
await copyFile(join(repoRoot, 'dist', 'cli-bundle', 'main.cjs'), bundle);
await copyFile(join(repoRoot, 'package.json'), join(dir, 'package.json'));
await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));

/** Loads the bundle as the launcher does and runs `bankforge --version`; the cache's fate on stderr. */
async function load(): Promise<{ stdout: string; cache: string }> {
  const script = `const r = require(${JSON.stringify(join(repoRoot, 'bin', 'load-bundle.js'))}).loadBundle(${JSON.stringify(bundle)}, ${JSON.stringify(cacheFile)});
process.stderr.write(String(r.script.cachedDataRejected));
r.exports.main(['--version']);`;
  const r = await execa(process.execPath, ['-e', script], { reject: false });
  assert.is(r.exitCode, 0, r.stderr);
  return { stdout: r.stdout, cache: r.stderr };
}

const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };

test('the cache made with the bundle is used', async () => {
  await writeFile(cacheFile, built);
  assert.equal(await load(), { stdout: version, cache: 'false' });
});

test('no cache: compiled from source', async () => {
  await writeFile(cacheFile, '');
  assert.equal(await load(), { stdout: version, cache: 'undefined' });
});

test('a cache made for another build is not handed to V8', async () => {
  const other = Buffer.from(built);
  other[0] = other[0] === 0x30 ? 0x31 : 0x30;
  await writeFile(cacheFile, other);
  assert.equal(await load(), { stdout: version, cache: 'undefined' });
});

test('a damaged cache with the right build id: V8 refuses it, the bundle runs', async () => {
  const id = built.subarray(0, built.indexOf(0x0a) + 1);
  await writeFile(cacheFile, Buffer.concat([id, Buffer.alloc(built.length - id.length, 0x5a)]));
  assert.equal(await load(), { stdout: version, cache: 'true' });
});

test('bytes flipped inside the cache\'s payload, its header intact: V8 checks the checksum, refuses it, the bundle runs', async () => {
  // Without the checksum check, V8 deserialized such a cache as it was and the process died of SIGSEGV.
  const flipped = Buffer.from(built);
  for (const at of [0.5, 0.6, 0.7]) flipped[Math.floor(flipped.length * at)]! ^= 0xff;
  await writeFile(cacheFile, flipped);
  assert.equal(await load(), { stdout: version, cache: 'true' });
});

test('a command that imports execa works from the cached bundle', async () => {
  await writeFile(cacheFile, built);
  const r = await execa(process.execPath, [join(repoRoot, 'bin', 'bankforge.js'), 'devices', '--json'], { reject: false });
  assert.is(r.exitCode, 0, r.stderr);
  assert.ok(Array.isArray(JSON.parse(r.stdout)), r.stdout);
});

test.after(cleanup);
test.run();
