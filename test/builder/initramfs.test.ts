// `bankforge initramfs` (builder/initramfs/): a gzip-compressed newc cpio that GNU cpio lists
// and extracts as written: directories before their contents, owner root, one mtime, modes
// reduced to 0755/0644, symbolic links kept, /dev/console a character device; the same bytes
// from trees that differ only in host mtimes, umask and creation order; refusals by name.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmod, mkdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { makeInitramfs } from '../../builder/initramfs/initramfs.js';
import { cli } from '../helpers/cli.js';
import { scratch } from '../helpers/tools.js';

const { dir, cleanup } = await scratch('bankforge-initramfs-');
const refusal = (p: Promise<unknown>): Promise<string> => p.then(() => 'no error', (e: Error) => e.message);

/** A tree with a script, a data file, a nested directory and a link, created in `order`. */
async function tree(name: string, order: 'forward' | 'backward', when: number): Promise<string> {
  const root = join(dir, name);
  const steps = [
    async () => { await writeFile(join(root, 'init'), '#!/bin/sh\necho hi\n'); await chmod(join(root, 'init'), 0o700); },
    async () => { await mkdir(join(root, 'etc/deep'), { recursive: true }); await writeFile(join(root, 'etc/deep/conf'), 'x=1\n'); await chmod(join(root, 'etc/deep/conf'), 0o600); },
    async () => { await mkdir(join(root, 'lib'), { recursive: true }); await symlink('../etc/deep/conf', join(root, 'lib/conf')); },
  ];
  await mkdir(root, { recursive: true });
  for (const s of order === 'forward' ? steps : steps.reverse()) await s();
  for (const p of ['init', 'etc/deep/conf', 'etc/deep', 'etc']) await utimes(join(root, p), when, when);
  return root;
}

test('GNU cpio lists what was put in, sorted, owned by root, one mtime, modes 0755/0644, the link and /dev/console', async () => {
  const root = await tree('a', 'forward', 1_000_000);
  const busybox = join(dir, 'busybox');
  await writeFile(busybox, 'not really busybox');
  const gz = await makeInitramfs({ dirs: [root], busybox, epoch: 946684800 });
  const cpio = gunzipSync(gz);
  const list = await execa('cpio', ['-t', '-v', '--quiet', '--numeric-uid-gid'], { input: cpio, env: { TZ: 'UTC', LC_ALL: 'C' } });
  const lines = list.stdout.split('\n');
  const rows = lines.map((l) => l.split(/\s+/));
  // "crw-------   1 0 0   5,   1 Jan  1  2000 dev/console": the name follows the date.
  const names = lines.map((l) => l.replace(/^.* Jan {2}1 {2}2000 /, ''));
  assert.equal(names, ['bin', 'bin/busybox', 'bin/sh -> busybox', 'dev', 'dev/console', 'etc', 'etc/deep', 'etc/deep/conf', 'init', 'lib', 'lib/conf -> ../etc/deep/conf', 'proc', 'sbin', 'sys', 'tmp', 'usr', 'usr/bin', 'usr/sbin']);
  const mode = (n: string) => rows[names.indexOf(n)]![0];
  assert.is(mode('init'), '-rwxr-xr-x');
  assert.is(mode('etc/deep/conf'), '-rw-r--r--');
  assert.is(mode('etc'), 'drwxr-xr-x');
  assert.is(mode('dev/console'), 'crw-------');
  assert.is(mode('lib/conf -> ../etc/deep/conf'), 'lrwxrwxrwx');
  for (const r of rows) { assert.is(r[2], '0'); assert.is(r[3], '0'); }
  assert.ok(lines.every((l) => / Jan {2}1 {2}2000 /.test(l)), list.stdout);
  // Extracted, the files hold their bytes.
  const out = join(dir, 'extracted');
  await mkdir(out);
  await execa('cpio', ['-i', '-d', '--quiet', '--no-absolute-filenames', '--nonmatching', 'dev/console'], { input: cpio, cwd: out });
  assert.is(await readFile(join(out, 'init'), 'utf8'), '#!/bin/sh\necho hi\n');
  assert.is(await readFile(join(out, 'bin/busybox'), 'utf8'), 'not really busybox');
});

test('the same tree made another way (creation order, mtimes, modes beyond 0755/0644) gives the same bytes', async () => {
  const a = await makeInitramfs({ dirs: [await tree('b1', 'forward', 1_000_000)], epoch: 0 });
  const t2 = await tree('b2', 'backward', 2_000_000);
  await chmod(join(t2, 'init'), 0o755);
  await chmod(join(t2, 'etc/deep/conf'), 0o640);
  const b = await makeInitramfs({ dirs: [t2], epoch: 0 });
  assert.ok(a.equals(b));
  const c = await makeInitramfs({ dirs: [t2], epoch: 1 });
  assert.not.ok(a.equals(c), 'the epoch is the mtime');
});

test('later directories replace files of earlier ones; a file over a directory, a FIFO, a missing input are refused by name', async () => {
  const one = await tree('c1', 'forward', 0);
  const two = join(dir, 'c2');
  await mkdir(two);
  await writeFile(join(two, 'init'), 'replaced\n');
  const cpio = gunzipSync(await makeInitramfs({ dirs: [one, two] }));
  const out = join(dir, 'c-out');
  await mkdir(out);
  await execa('cpio', ['-i', '-d', '--quiet', '--nonmatching', 'dev/console'], { input: cpio, cwd: out });
  assert.is(await readFile(join(out, 'init'), 'utf8'), 'replaced\n');

  const clash = join(dir, 'c3');
  await mkdir(clash);
  await writeFile(join(clash, 'etc'), 'a file');
  assert.match(await refusal(makeInitramfs({ dirs: [one, clash] })), /initramfs: etc is both a directory and a file/);
  const fifo = join(dir, 'c4');
  await mkdir(fifo);
  await execa('mkfifo', [join(fifo, 'pipe')]);
  assert.match(await refusal(makeInitramfs({ dirs: [fifo] })), /pipe is not a file, directory or symbolic link/);
  const r = await cli(['initramfs', '-o', join(dir, 'x.img'), '--no-state-tool', '--busybox', join(dir, 'nope')]);
  assert.is(r.exitCode, 3, r.stderr);
  assert.match(r.stderr, /cannot read busybox .*nope: no such file/);
  const d = await cli(['initramfs', '-o', join(dir, 'y.img'), '--no-state-tool', '--dir', join(dir, 'nodir')]);
  assert.is(d.exitCode, 3, d.stderr);
  assert.match(d.stderr, /initramfs --dir .*nodir: cannot read/);
});

test.after(cleanup);
test.run();
