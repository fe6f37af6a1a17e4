// A full disk is the environment, not a bug (issue 15 item 7): exit 3 and a message that says
// the device is full, not "internal error ... please report it". The disk is a 200 KiB tmpfs
// mounted in a private mount namespace (unshare -m; the suite runs as root), so nothing else sees it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { LAYOUTS_DIR } from '../../builder/layout/load.js';
import { join } from 'node:path';
import { BIN } from '../helpers/cli.js';
import { scratch, tool } from '../helpers/tools.js';

test('build onto a full filesystem: exit 3, "no space left on the device", nothing left behind', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const full = join(dir, 'full');
    await mkdir(full);
    const script = `mount -t tmpfs -o size=200k tmpfs "$1" && node "$2" build --layout small --out "$1/x.img"; rc=$?; ls -A "$1"; exit $rc`;
    const r = await tool('unshare', ['-m', 'sh', '-c', script, 'sh', full, BIN]);
    assert.is(r.exitCode, 3, r.all);
    assert.match(r.stderr, /bankforge: cannot write .*\/x\.img: no space left on the device \(ENOSPC\): free some space/);
    assert.not.match(r.stderr, /internal error/);
    assert.is(r.stdout.trim(), '', 'the full filesystem holds nothing afterwards');
    assert.equal(await readdir(full), [], 'the mount point itself was never written');
  } finally {
    await cleanup();
  }
});

test('build that fills the disk while copying a host file: the same clean exit 3, nothing left behind', async () => {
  // The store gets an 8 MiB file, written in 4 MiB chunks through the thread pool while the next
  // is read: a write that fails must end the build as above, not as an unhandled rejection.
  const { dir, cleanup } = await scratch();
  try {
    const full = join(dir, 'full');
    const store = join(dir, 'store');
    await mkdir(full);
    await mkdir(store);
    await writeFile(join(store, 'big.bin'), randomBytes(8 << 20));
    const layout = JSON.parse(await readFile(join(LAYOUTS_DIR, 'small.json'), 'utf8'));
    delete layout.$schema;
    layout.partitions.find((p: { name: string }) => p.name === 'store').contents = [{ dir: store }];
    await writeFile(join(dir, 'layout.json'), JSON.stringify(layout));
    const script = `mount -t tmpfs -o size=3m tmpfs "$1" && node "$2" build --layout "$3" --out "$1/x.img"; rc=$?; ls -A "$1"; exit $rc`;
    const r = await tool('unshare', ['-m', 'sh', '-c', script, 'sh', full, BIN, join(dir, 'layout.json')]);
    assert.is(r.exitCode, 3, r.all);
    assert.match(r.stderr, /bankforge: cannot write .*\/x\.img: no space left on the device \(ENOSPC\): free some space/);
    assert.not.match(r.stderr, /internal error|Unhandled|at async/);
    assert.is(r.stdout.trim(), '', 'the full filesystem holds nothing afterwards');
  } finally {
    await cleanup();
  }
});

test.run();
