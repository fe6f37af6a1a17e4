// One writer at a time against a real QEMU (disk/write-lock.ts): while QEMU has an image open,
// every state-changing command is refused (exit 3, naming QEMU) and leaves it byte-identical;
// a QEMU started while bankforge writes is refused by QEMU itself; `bankforge run` without
// --snapshot refuses an image another bankforge is writing; `config set` during a booting
// machine is refused. Most QEMUs here are paused (-S): they open and lock the image at start-up
// and run no guest code, so they cost no TCG time; one machine starts for real.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { lockForWriting } from '../../disk/write-lock.js';
import { cli } from '../helpers/cli.js';
import { buildQuiet } from '../helpers/images.js';
import { STEP_MS, withMachine } from '../helpers/machine.js';
import { scratch } from '../helpers/tools.js';
import { sha256OfFile as sha } from '../helpers/file-bytes.js';

/** A paused QEMU with `img` as its disk, once it holds its lock (seen in /proc/locks); boxed, since a bare one would be awaited. */
async function pausedQemu(img: string, snapshot: boolean): Promise<{ q: ResultPromise }> {
  const q = execa('qemu-system-x86_64', ['-S', '-nodefaults', '-display', 'none', '-machine', 'q35', '-accel', 'tcg',
    '-drive', `file=${img},format=raw,if=virtio${snapshot ? ',snapshot=on' : ''}`], { reject: false, encoding: 'utf8' });
  const ino = (await stat(img)).ino;
  // Until QEMU holds the lock or has exited, bounded for a hang (STEP_MS), not for speed: the 10 s
  // this had before is within reach of a QEMU start on two cores shared with the suite's lanes.
  let exited = false;
  void q.finally(() => { exited = true; });
  for (const deadline = Date.now() + STEP_MS; !exited && Date.now() < deadline;) {
    if ((await readFile('/proc/locks', 'utf8')).split('\n').some((l) => l.includes(`:${ino} `))) return { q };
    await new Promise((r) => setTimeout(r, 50));
  }
  q.kill();
  throw new Error(`QEMU did not lock ${img}${exited ? ' (it exited)' : ` within ${STEP_MS / 1000} s`}: ${(await q).stderr}`);
}

async function stopped(q: ResultPromise): Promise<void> {
  q.kill('SIGTERM');
  await q;
}

test('while QEMU has the image (for writing, or with -snapshot): upgrade, rollback, mark-good, config set, coredump --clear are exit 3 naming QEMU; nothing written', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const img = join(dir, 's.img');
    const bundle = join(dir, '2.bfb');
    await buildQuiet({ layout: 'small', out: img, version: '1.0.0' });
    assert.is((await cli(['bundle', '-V', '2.0.0', '-l', 'small', '-o', bundle, '-q'])).exitCode, 0);
    const before = await sha(img);
    const commands = [['upgrade', img, bundle], ['rollback', img], ['mark-good', img], ['config', img, 'set', 'hostname=esx01'], ['coredump', img, '--clear']];
    for (const snapshot of [false, true]) {
      const { q } = await pausedQemu(img, snapshot);
      try {
        for (const args of commands) {
          const r = await cli(args);
          assert.is(r.exitCode, 3, `${args[0]} (snapshot ${snapshot}): ${r.stderr}`);
          assert.match(r.stderr, new RegExp(`is in use by pid ${q.pid} \\(\\S*qemu-system-x86_64 `), args[0]);
        }
      } finally {
        await stopped(q);
      }
      assert.is(await sha(img), before, `snapshot ${snapshot}: the image is byte-identical`);
    }
    // QEMU gone: the same upgrade goes ahead.
    const r = await cli(['upgrade', img, bundle, '-q']);
    assert.is(r.exitCode, 0, r.stderr);
  } finally {
    await cleanup();
  }
});

test("a QEMU started while bankforge holds the write lock refuses the image; `bankforge run` without --snapshot is exit 3 naming the holder", async () => {
  const { dir, cleanup } = await scratch();
  try {
    const img = join(dir, 's.img');
    await buildQuiet({ layout: 'small', out: img, version: '1.0.0' });
    const lock = await lockForWriting(img);
    try {
      const q = await execa('qemu-system-x86_64', ['-S', '-nodefaults', '-display', 'none', '-machine', 'q35', '-accel', 'tcg',
        '-drive', `file=${img},format=raw,if=virtio`], { reject: false, encoding: 'utf8', timeout: 30_000 });
      assert.is.not(q.exitCode, 0);
      assert.match(q.stderr, /Failed to (get "write" lock|lock byte 101)/);
      const r = await cli(['run', img, '--timeout', '30']);
      assert.is(r.exitCode, 3, r.stderr);
      assert.match(r.stderr, `${img} is in use by pid ${process.pid} (`);
    } finally {
      await lock.release();
    }
  } finally {
    await cleanup();
  }
});

test('config set while a machine boots the image without --snapshot: refused, the guest keeps the image to itself', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const img = join(dir, 's.img');
    await buildQuiet({ layout: 'small', out: img, version: '1.0.0' });
    await withMachine({ image: img, snapshot: false }, async () => {
      const r = await cli(['config', img, 'set', 'hostname=esx01']);
      assert.is(r.exitCode, 3, r.stderr);
      assert.match(r.stderr, /is in use by pid \d+ \(\S*qemu-system-x86_64 /, r.stderr);
    }, 'kill');
    const r = await cli(['config', img, 'set', 'hostname=esx01']);
    assert.is(r.exitCode, 0, r.stderr);
  } finally {
    await cleanup();
  }
});

test.run();
