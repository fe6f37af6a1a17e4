// bin/load-bundle.js compiles each CLI bundle (main.cjs, and direct.cjs for the direct lines) from
// the V8 code cache made with it (main.cjs has two: main-build.cache is for build lines), and a
// missing, stale or damaged cache only costs time: the bundle still runs, from source.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { copyFile, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { repoRoot, scratch } from '../helpers/tools.js';

const loader = createRequire(import.meta.url)(join(repoRoot, 'bin', 'load-bundle.js')) as { cacheHead(id: string, payload: Buffer): string; payloadSum(data: Buffer): string };
const { dir, cleanup } = await scratch('bankforge-code-cache-');
const bundleDir = join(dir, 'dist', 'cli-bundle');
const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };

// The bundle finds package.json two levels up, and fatfs and execa in node_modules, as installed.
await mkdir(bundleDir, { recursive: true });
await copyFile(join(repoRoot, 'package.json'), join(dir, 'package.json'));
await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));

// Each bundle and cache with a line it runs and what that prints: the whole CLI with either of its
// caches, and the direct lines' own (cli/direct-args.ts), here status --json of a missing image,
// whose error is JSON on stdout.
const missing = join(dir, 'no-such.img');
const bundles = [
  { name: 'main', cache: 'main', argv: ['--version'], stdout: version },
  { name: 'main', cache: 'main-build', argv: ['--version'], stdout: version },
  { name: 'direct', cache: 'direct', argv: ['status', missing, '--json'], stdout: JSON.stringify({ error: { code: 3, kind: 'input', message: `cannot open ${missing}: no such file`, file: missing } }) },
];

for (const { name, cache, argv, stdout } of bundles) {
  const bundle = join(bundleDir, `${name}.cjs`);
  const cacheFile = join(bundleDir, `${cache}.cache`);
  await copyFile(join(repoRoot, 'dist', 'cli-bundle', `${name}.cjs`), bundle);
  const built = await readFile(join(repoRoot, 'dist', 'cli-bundle', `${cache}.cache`));

  /** Loads the bundle as the launcher does and runs `argv`; the cache's fate on stderr. */
  const load = async (nodeFlags: string[] = [], shellLimit = ''): Promise<{ stdout: string; cache: string }> => {
    const script = `const r = require(${JSON.stringify(join(repoRoot, 'bin', 'load-bundle.js'))}).loadBundle(${JSON.stringify(bundle)}, ${JSON.stringify(cacheFile)});
process.stderr.write(String(r.script.cachedDataRejected));
r.exports.main(${JSON.stringify(argv)});`;
    const r = shellLimit
      ? await execa('sh', ['-c', `${shellLimit}; exec "$0" "$@"`, process.execPath, ...nodeFlags, '-e', script], { reject: false })
      : await execa(process.execPath, [...nodeFlags, '-e', script], { reject: false });
    assert.is(r.exitCode, name === 'main' ? 0 : 3, r.stderr);
    // Under --jitless V8 itself first says that it turned WebAssembly off.
    return { stdout: r.stdout, cache: r.stderr.replace(/^Warning: disabling flag --expose_wasm due to conflicting flags\n/, '') };
  };

  test(`${cache}: the cache made with the bundle is used`, async () => {
    await writeFile(cacheFile, built);
    assert.equal(await load(), { stdout, cache: 'false' });
  });
  // The rest is load-bundle.js' handling of a cache, the same for both of main.cjs'.
  if (cache === 'main-build') continue;

  test(`${cache}: no cache: compiled from source`, async () => {
    await writeFile(cacheFile, '');
    assert.equal(await load(), { stdout, cache: 'undefined' });
  });

  test(`${cache}: a cache made for another build is not handed to V8`, async () => {
    const other = Buffer.from(built);
    other[0] = other[0] === 0x30 ? 0x31 : 0x30;
    await writeFile(cacheFile, other);
    assert.equal(await load(), { stdout, cache: 'undefined' });
  });

  const firstLine = built.subarray(0, built.indexOf(0x0a) + 1);

  test(`${cache}: a damaged cache, its first line intact: not handed to V8, the bundle runs`, async () => {
    await writeFile(cacheFile, Buffer.concat([firstLine, Buffer.alloc(built.length - firstLine.length, 0x5a)]));
    assert.equal(await load(), { stdout, cache: 'undefined' });
  });

  test(`${cache}: bytes flipped inside the cache's payload, V8's header intact: the checksum differs, the bundle runs`, async () => {
    // V8 in Node 20 checks its own checksum only when told to: handed such a cache, it deserialized
    // it as it was and the process died of SIGSEGV.
    const flipped = Buffer.from(built);
    for (const at of [0.5, 0.6, 0.7]) flipped[Math.floor(flipped.length * at)]! ^= 0xff;
    await writeFile(cacheFile, flipped);
    assert.equal(await load(), { stdout, cache: 'undefined' });
  });

  test(`${cache}: a payload V8 cannot use under a first line that sums it up: V8's own checks refuse it, the bundle runs`, async () => {
    const id = firstLine.toString('latin1').split(' ')[0]!;
    const junk = Buffer.alloc(built.length - firstLine.length, 0x5a);
    await writeFile(cacheFile, Buffer.concat([Buffer.from(loader.cacheHead(id, junk), 'latin1'), junk]));
    assert.equal(await load(), { stdout, cache: 'true' });
  });

  test(`${cache}: without WebAssembly (node --jitless) the cache is not used, the bundle runs`, async () => {
    await writeFile(cacheFile, built);
    assert.equal(await load(['--jitless']), { stdout, cache: 'undefined' });
  });

  test(`${cache}: without the address space for WebAssembly's memory (ulimit -v) the cache is not used, the bundle runs`, async () => {
    // V8 reserves ~10 GiB of address space for a WebAssembly memory; Node itself starts in 4 GB.
    await writeFile(cacheFile, built);
    assert.equal(await load([], 'ulimit -v 4000000'), { stdout, cache: 'undefined' });
  });
}

test('the bundle step leaves its bundles, their caches, the help and the launcher, and nothing of its own runs', async () => {
  assert.equal((await readdir(join(repoRoot, 'dist', 'cli-bundle'))).sort(),
    ['direct.cache', 'direct.cjs', 'help.txt', 'launch.cjs', 'main-build.cache', 'main.cache', 'main.cjs']);
});

/** payloadSum as load-bundle.js' comment defines it, in JavaScript. */
function referenceSum(data: Buffer): string {
  const MASK = (1n << 64n) - 1n;
  const words = Buffer.alloc(Math.ceil(data.length / 32) * 32);
  data.copy(words);
  let h = 0xcbf29ce484222325n ^ BigInt(data.length);
  for (let at = 0; at < words.length; at += 8) {
    const x = h ^ words.readBigUInt64LE(at);
    h = ((((x << 29n) | (x >> 35n)) & MASK) * 0x9e3779b97f4a7c15n) & MASK;
  }
  return h.toString(16).padStart(16, '0');
}

test('the cache checksum (WebAssembly) is the sum its comment defines; a flipped bit or zeros appended change it', () => {
  for (const length of [0, 1, 31, 32, 33, 65_535, 65_536, 65_537, 200_003]) {
    const data = randomBytes(length);
    const sum = loader.payloadSum(data);
    assert.is(sum, referenceSum(data), `${length} bytes`);
    assert.is.not(loader.payloadSum(Buffer.concat([data, Buffer.alloc(3)])), sum, `${length} bytes and three zeros`);
    if (length === 0) continue;
    for (const at of [0, length >> 1, length - 1]) {
      const flipped = Buffer.from(data);
      flipped[at]! ^= 1 << (at % 8);
      assert.is.not(loader.payloadSum(flipped), sum, `${length} bytes, bit flipped at ${at}`);
    }
  }
});

test('the bundle step refuses to write a cache whose checksum cannot be computed', async () => {
  const script = `require(${JSON.stringify(join(repoRoot, 'bin', 'load-bundle.js'))}).cacheHead('id', Buffer.alloc(64));`;
  const r = await execa(process.execPath, ['--jitless', '-e', script], { reject: false });
  assert.is.not(r.exitCode, 0);
  assert.match(r.stderr, /the code cache's checksum could not be computed \(expected 16 hex digits, got ''\)/);
});

test('a command that imports execa works from the cached bundle', async () => {
  const r = await execa(process.execPath, [join(repoRoot, 'bin', 'bankforge.js'), 'devices', '--json'], { reject: false });
  assert.is(r.exitCode, 0, r.stderr);
  assert.ok(Array.isArray(JSON.parse(r.stdout)), r.stdout);
});

test.after(cleanup);
test.run();
