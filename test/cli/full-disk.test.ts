// A full disk is the environment, not a bug (issue 15 item 7): exit 3 and a message that says
// the device is full, not "internal error ... please report it". The disk is a 200 KiB tmpfs
// mounted in a private mount namespace (unshare -m; the suite runs as root), so nothing else sees it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readdir } from 'node:fs/promises';
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

test.run();
