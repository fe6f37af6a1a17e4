// The output-path rule (support/output-file.ts) on its own and through the commands that write:
// what is not a regular file is refused for what it is and left as it was, nothing half written
// stays behind on a failure or a signal, and a side output that cannot be written stops the build
// before the image lands.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:net';
import { lstat, mkdir, readdir, readFile, rename, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { checkOutputPath, createOutput, createOutputDirectory, writeOutput } from '../../support/output-file.js';
import { BankforgeError } from '../../support/errors.js';
import { cli, BIN } from '../helpers/cli.js';
import { mustRun, repoRoot, scratch } from '../helpers/tools.js';

/**
 * One of each thing that is not a regular file, made in `dir`; returns name -> what the refusal
 * must say. The socket's server is left listening (closing it removes the socket) until the test ends.
 */
async function hostile(dir: string): Promise<Map<string, string>> {
  await writeFile(join(dir, 'victim'), 'precious\n');
  await symlink(join(dir, 'victim'), join(dir, 'link'));
  await mkdir(join(dir, 'dir'));
  await mustRun('mkfifo', [join(dir, 'fifo')]);
  // A character device like /dev/null (1,3), made here so that a regression replaces a test file.
  await mustRun('mknod', [join(dir, 'null'), 'c', '1', '3']);
  const server = createServer();
  await new Promise<void>((r) => server.listen(join(dir, 'sock'), r));
  server.unref();
  return new Map([['link', 'a symbolic link'], ['dir', 'a directory'], ['fifo', 'a FIFO'], ['null', 'a character device'], ['sock', 'a socket']]);
}

async function kinds(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const st = await lstat(join(dir, name));
    out.push(`${name}:${st.isFile() ? 'file' : st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'chr' : st.isSocket() ? 'sock' : '?'}`);
  }
  return out;
}

/** What `f` throws; undefined when it returns. */
const thrown = (f: () => void): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
};

test('checkOutputPath: a regular file or nothing passes; everything else is refused by name, a missing directory too', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const bad = await hostile(dir);
    checkOutputPath(join(dir, 'victim'));
    checkOutputPath(join(dir, 'new'));
    for (const [name, what] of bad) {
      const e = thrown(() => checkOutputPath(join(dir, name)));
      assert.instance(e, BankforgeError, name);
      assert.is((e as BankforgeError).exitCode, 3);
      assert.match((e as Error).message, `${join(dir, name)} is ${what}`);
    }
    const e = thrown(() => checkOutputPath(join(dir, 'nowhere', 'x')));
    assert.instance(e, BankforgeError);
    assert.match((e as Error).message, 'does not exist');
  } finally {
    await cleanup();
  }
});

test('writeOutput: a failing writer leaves the old file and no temporary; a file-system error is exit 3 naming the path', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const out = join(dir, 'out.bin');
    await writeFile(out, 'old');
    const e = await writeOutput(out, async (tmp) => {
      await writeFile(tmp, 'half');
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }).then(() => undefined, (x: unknown) => x);
    assert.instance(e, BankforgeError);
    assert.is((e as BankforgeError).exitCode, 3);
    assert.match((e as Error).message, `cannot write ${out}: no space left`);
    assert.equal(await readdir(dir), ['out.bin']);
    assert.is(await readFile(out, 'utf8'), 'old');
    await writeOutput(out, (tmp) => writeFile(tmp, 'new'));
    assert.is(await readFile(out, 'utf8'), 'new');
    assert.equal(await readdir(dir), ['out.bin']);
  } finally {
    await cleanup();
  }
});

test('stillOurs: true once committed and while the path holds what was renamed there; false before, and once something else is renamed over it', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const path = join(dir, 'x.img');
    const a = await createOutput(path);
    await writeFile(a.tmp, 'ours');
    assert.not.ok(a.stillOurs(), 'nothing committed yet');
    await writeFile(path, 'an older file');
    await a.commit();
    assert.ok(a.stillOurs());
    // Another writer's rename over it, as a second build to the same path does (the same bytes: identity, not content, counts).
    await writeFile(join(dir, 'other'), 'ours');
    await rename(join(dir, 'other'), path);
    assert.not.ok(a.stillOurs(), 'another file renamed over ours');
    await rename(path, join(dir, 'moved'));
    assert.not.ok(a.stillOurs(), 'nothing there');
    const d = await createOutputDirectory(join(dir, 'dumps'));
    await d.commit();
    assert.ok(d.stillOurs());
  } finally {
    await cleanup();
  }
});

test('bundle -o onto a device node, FIFO, socket, symlink or directory: exit 3 saying which, each left as it was', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const bad = await hostile(dir);
    const before = await kinds(dir);
    for (const [name, what] of bad) {
      const r = await cli(['bundle', '-V', '1.0.0', '-l', 'small', '-o', join(dir, name)]);
      assert.is(r.exitCode, 3, `${name}: ${r.stderr}`);
      assert.match(r.stderr, `is ${what}`);
    }
    assert.equal(await kinds(dir), before);
    assert.is(await readFile(join(dir, 'victim'), 'utf8'), 'precious\n');
  } finally {
    await cleanup();
  }
});

test('build: a side output that is a directory (or a symlink) refuses the build before the image or the manifest lands', async () => {
  const { dir, cleanup } = await scratch();
  try {
    await mkdir(join(dir, 's.img.bmap'));
    let r = await cli(['build', '-l', 'small', '-o', join(dir, 's.img'), '--format', 'raw,bmap', '-q']);
    assert.is(r.exitCode, 3, r.stderr);
    assert.match(r.stderr, `${join(dir, 's.img.bmap')} is a directory`);
    assert.equal(await readdir(dir), ['s.img.bmap']);
    await symlink('/dev/null', join(dir, 's.manifest.json'));
    r = await cli(['build', '-l', 'small', '-o', join(dir, 's.img'), '-q']);
    assert.is(r.exitCode, 3, r.stderr);
    assert.match(r.stderr, 'is a symbolic link');
    assert.equal((await readdir(dir)).sort(), ['s.img.bmap', 's.manifest.json']);
  } finally {
    await cleanup();
  }
});

test('build: another image renamed over ours between the build\'s two renames is reported: exit 3, the pair may not belong together', async () => {
  // strace holds each thread's first rename(2) for 0.6 s after it is done: the image's rename
  // into place, then the manifest's. Meanwhile another file takes the image's path, as a second
  // build to the same path does; the build must not end as if the pair there were its own.
  const { dir, cleanup } = await scratch();
  try {
    const out = join(dir, 'x.img');
    await writeFile(join(dir, 'other.img'), 'another build\'s image\n');
    const p = execa('strace', ['-f', '-qq', '--seccomp-bpf', '-o', '/dev/null', '-e', 'trace=rename,renameat,renameat2', '-e', 'inject=rename,renameat,renameat2:delay_exit=600000:when=1', BIN, 'build', '-l', 'small', '-o', out, '-q'], { reject: false, cwd: repoRoot, encoding: 'utf8' });
    let replaced = false;
    for (let waited = 0; waited < 60_000 && p.exitCode === null; waited += 5) {
      if ((await stat(out).catch(() => undefined))?.isFile()) {
        await rename(join(dir, 'other.img'), out);
        replaced = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const r = await p;
    assert.ok(replaced, `the image never appeared: ${r.stderr}`);
    assert.is(r.exitCode, 3, r.stderr);
    assert.match(r.stderr, `${out}: something else renamed an image or a manifest into place there while this build did`);
    assert.is(await readFile(out, 'utf8'), 'another build\'s image\n', 'the other image is left where it is');
    assert.equal((await readdir(dir)).sort(), ['x.img', 'x.manifest.json']);
  } finally {
    await cleanup();
  }
});

test('build: a disk larger than a file may be (EFBIG, here by ulimit -f) is exit 3 naming the size, and leaves nothing', async () => {
  const { dir, cleanup } = await scratch();
  try {
    // ulimit -f counts KiB; the small layout's disk is 74 MiB.
    const r = await execa('sh', ['-c', 'ulimit -f 10240 && exec "$0" "$@"', BIN, 'build', '-l', 'small', '-o', join(dir, 's.img'), '-q'], { reject: false, cwd: repoRoot, encoding: 'utf8' });
    assert.is(r.exitCode, 3, r.stderr);
    assert.match(r.stderr, /the layout's disk is 77594624 bytes .*EFBIG/);
    assert.equal(await readdir(dir), []);
  } finally {
    await cleanup();
  }
});

test('build: SIGTERM while writing exits 130 and leaves no partial file; SIGINT the same', async () => {
  const { dir, cleanup } = await scratch();
  try {
    // A 6 GiB raw partition: with --sha256, hashing its hole takes seconds, time enough to be
    // interrupted (the block list alone hashes data only and would be done at once).
    const layout = JSON.parse(await readFile(join(repoRoot, 'layouts', 'small.json'), 'utf8'));
    delete layout.$schema;
    layout.partitions[3] = { name: 'store', type: 'basic-data', filesystem: 'raw', size: '6GiB' };
    await writeFile(join(dir, 'big.json'), JSON.stringify(layout));
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const child = execa(BIN, ['build', '-l', join(dir, 'big.json'), '-o', join(dir, 'big.img'), '--sha256'], { reject: false, cwd: repoRoot, encoding: 'utf8' });
      let seen = false;
      for (let i = 0; i < 200 && !seen; i++) {
        await new Promise((r) => setTimeout(r, 50));
        seen = (await readdir(dir)).some((f) => f.includes('.partial-'));
      }
      assert.ok(seen, 'the build started writing its temporary');
      await new Promise((r) => setTimeout(r, 300));
      child.kill(signal);
      const r = await child;
      assert.is(r.exitCode, 130, `${signal}: ${r.stderr}`);
      assert.match(r.stderr, `${signal}: stopped; partial output removed`);
      assert.equal(await readdir(dir), ['big.json']);
    }
    assert.not.ok(await stat(join(dir, 'big.img')).catch(() => undefined));
  } finally {
    await cleanup();
  }
});

test.run();
