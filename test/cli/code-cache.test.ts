// bin/load-bundle.js compiles each CLI bundle (main.cjs, and direct.cjs for the direct lines) from
// the V8 code cache made with it, and a missing, stale or damaged cache only costs time: the
// bundle still runs, from source.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot, scratch } from '../helpers/tools.js';

const { dir, cleanup } = await scratch('bankforge-code-cache-');
const bundleDir = join(dir, 'dist', 'cli-bundle');
const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };

// The bundle finds package.json two levels up, and fatfs and execa in node_modules, as installed.
await mkdir(bundleDir, { recursive: true });
await copyFile(join(repoRoot, 'package.json'), join(dir, 'package.json'));
await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));

// Each bundle with a line it runs and what that prints: the whole CLI, and the direct lines' own
// (cli/direct-args.ts), here status --json of a missing image, whose error is JSON on stdout.
const missing = join(dir, 'no-such.img');
const bundles = [
  { name: 'main', argv: ['--version'], stdout: version },
  { name: 'direct', argv: ['status', missing, '--json'], stdout: JSON.stringify({ error: { code: 3, kind: 'input', message: `cannot open ${missing}: no such file`, file: missing } }) },
];

for (const { name, argv, stdout } of bundles) {
  const bundle = join(bundleDir, `${name}.cjs`);
  const cacheFile = join(bundleDir, `${name}.cache`);
  await copyFile(join(repoRoot, 'dist', 'cli-bundle', `${name}.cjs`), bundle);
  const built = await readFile(join(repoRoot, 'dist', 'cli-bundle', `${name}.cache`));

  /** Loads the bundle as the launcher does and runs `argv`; the cache's fate on stderr. */
  const load = async (): Promise<{ stdout: string; cache: string }> => {
    const script = `const r = require(${JSON.stringify(join(repoRoot, 'bin', 'load-bundle.js'))}).loadBundle(${JSON.stringify(bundle)}, ${JSON.stringify(cacheFile)});
process.stderr.write(String(r.script.cachedDataRejected));
r.exports.main(${JSON.stringify(argv)});`;
    const r = await execa(process.execPath, ['-e', script], { reject: false });
    assert.is(r.exitCode, name === 'main' ? 0 : 3, r.stderr);
    return { stdout: r.stdout, cache: r.stderr };
  };

  test(`${name}: the cache made with the bundle is used`, async () => {
    await writeFile(cacheFile, built);
    assert.equal(await load(), { stdout, cache: 'false' });
  });

  test(`${name}: no cache: compiled from source`, async () => {
    await writeFile(cacheFile, '');
    assert.equal(await load(), { stdout, cache: 'undefined' });
  });

  test(`${name}: a cache made for another build is not handed to V8`, async () => {
    const other = Buffer.from(built);
    other[0] = other[0] === 0x30 ? 0x31 : 0x30;
    await writeFile(cacheFile, other);
    assert.equal(await load(), { stdout, cache: 'undefined' });
  });

  test(`${name}: a damaged cache with the right build id: V8 refuses it, the bundle runs`, async () => {
    const id = built.subarray(0, built.indexOf(0x0a) + 1);
    await writeFile(cacheFile, Buffer.concat([id, Buffer.alloc(built.length - id.length, 0x5a)]));
    assert.equal(await load(), { stdout, cache: 'true' });
  });

  test(`${name}: bytes flipped inside the cache's payload, its header intact: V8 checks the checksum, refuses it, the bundle runs`, async () => {
    // Without the checksum check, V8 deserialized such a cache as it was and the process died of SIGSEGV.
    const flipped = Buffer.from(built);
    for (const at of [0.5, 0.6, 0.7]) flipped[Math.floor(flipped.length * at)]! ^= 0xff;
    await writeFile(cacheFile, flipped);
    assert.equal(await load(), { stdout, cache: 'true' });
  });
}

test('a command that imports execa works from the cached bundle', async () => {
  const r = await execa(process.execPath, [join(repoRoot, 'bin', 'bankforge.js'), 'devices', '--json'], { reject: false });
  assert.is(r.exitCode, 0, r.stderr);
  assert.ok(Array.isArray(JSON.parse(r.stdout)), r.stdout);
});

test.after(cleanup);
test.run();
