// The passes flash's main thread shares with a worker thread (disk/flash/block-pass.cts,
// helper-thread.ts): whichever thread does an item, the result is what a plain read and hash of
// the file says; a worker that cannot start, or fails after taking items, leaves them to the main
// thread; and the read-back's compare finds the byte that differs.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { join } from 'node:path';
import { checkPass, closePassFiles, comparePass, CHUNK_MAX, spanPairs, DIRTY, DONE, FAILED, firstOutside, openPassFiles, PENDING, settle, startRound, take, ZEROS, type Pass } from '../../../disk/flash/block-pass.cjs';
import { HelperThread, runRound } from '../../../disk/flash/helper-thread.js';
import { alignedBuffer } from '../../../disk/flash/direct-io.cjs';
import { scratch } from '../../helpers/tools.js';

const { dir, cleanup } = await scratch('bankforge-block-pass-');
const BS = 64 * 1024;
const BLOCKS = 40;
// Blocks 0-19 data, 20-29 zeros, 30-39 data; block 25 then gets one stray byte.
const image = join(dir, 'image.bin');
const bytes = Buffer.concat([randomBytes(20 * BS), Buffer.alloc(10 * BS), randomBytes(10 * BS - 1000)]);
bytes[25 * BS + 777] = 0x5a;
writeFileSync(image, bytes);
const size = bytes.length;
const isData = (b: number) => b < 20 || b >= 30;
const sha = (b: number) => createHash('sha256').update(bytes.subarray(b * BS, Math.min(size, (b + 1) * BS))).digest('hex');

/** A check of every block, filled in, and its round started, ready to be shared. */
function fullCheck(spans?: { start: number; end: number }[]) {
  const pass = checkPass(image, size, BS, BLOCKS, spans && spanPairs(spans));
  for (let b = 0; b < BLOCKS; b++) { pass.blocks[b] = b; pass.data[b] = isData(b) ? 1 : 0; }
  return pass;
}

function assertChecked(pass: ReturnType<typeof fullCheck>, who: string): void {
  for (let b = 0; b < BLOCKS; b++) {
    if (isData(b)) {
      assert.is(pass.state[b], DONE, `${who}: block ${b} state`);
      assert.is(Buffer.from(pass.digests.buffer, b * 32, 32).toString('hex'), sha(b), `${who}: block ${b} sha256`);
    } else assert.is(pass.state[b], b === 25 ? DIRTY : ZEROS, `${who}: hole block ${b}`);
  }
}

const mainFiles = (pass: Pass) => openPassFiles(pass, { buf: Buffer.allocUnsafe(CHUNK_MAX), aligned: alignedBuffer(CHUNK_MAX) });

test('the worker alone: every block hashed or found zero (or not) as a plain read of the file says', async () => {
  const helper = HelperThread.start();
  assert.ok(helper, 'a worker starts');
  try {
    const pass = fullCheck();
    startRound(pass, BLOCKS);
    assert.ok(await helper.share(pass), 'the worker did its share');
    assert.is(Atomics.load(pass.counter, 1), BLOCKS, 'all items finished by the worker');
    assertChecked(pass, 'worker');
  } finally {
    await helper.close();
  }
});

test('both threads: each item done once, the results the same; a second round reuses the arrays', async () => {
  const helper = HelperThread.start()!;
  const pass = fullCheck();
  const files = mainFiles(pass);
  try {
    for (const round of [1, 2]) {
      let mine = 0;
      const theirs = helper.itemsDone;
      // In round 2 the worker is up (round 1 waited for its answer): after each of its items the
      // main thread waits until another thread has finished an item too, or 2 s have passed.
      await runRound(pass, BLOCKS, helper, files, async (finished) => {
        mine++;
        for (const until = Date.now() + 2000; round === 2 && Atomics.load(pass.counter, 0) < BLOCKS && Atomics.load(pass.counter, 1) <= finished && Date.now() < until;) await new Promise((r) => setTimeout(r, 1));
      });
      assert.is(Atomics.load(pass.counter, 1), BLOCKS, `round ${round}: every item finished once`);
      assert.is(mine + helper.itemsDone - theirs, BLOCKS, `round ${round}: the main thread did ${mine}, the worker ${helper.itemsDone - theirs}`);
      assertChecked(pass, `round ${round}`);
    }
    assert.ok(helper.itemsDone > 0, 'the worker, ready by the second round, took part');
  } finally {
    closePassFiles(files);
    await helper.close();
  }
});

test('no worker under a tight address-space limit (ulimit -v), where starting one aborted the process; one without', async () => {
  const helperModule = new URL('../../../disk/flash/helper-thread.js', import.meta.url).href;
  const probe = `import(${JSON.stringify(helperModule)}).then(async (m) => { const h = m.HelperThread.start(); console.log(h === undefined ? 'none' : 'started'); await h?.close(); })`;
  for (const [limit, want] of [['11500000', 'none'], ['unlimited', 'started']] as const) {
    const r = await execa('sh', ['-c', `ulimit -v ${limit}; exec node --input-type=module -e "$0"`, probe], { reject: false });
    assert.is(r.exitCode, 0, `ulimit -v ${limit}: ${r.stderr}`);
    assert.is(r.stdout.trim(), want, `ulimit -v ${limit}`);
  }
});

test('a worker that takes items and fails leaves them to the main thread; a closed one takes none', async () => {
  const pass = fullCheck();
  const files = mainFiles(pass);
  try {
    // Takes the first five items and stops without doing them, as a worker that died would.
    const dying = { share: async (p: Pass) => { for (let i = 0; i < 5; i++) take(p); return false; } } as unknown as HelperThread;
    await runRound(pass, BLOCKS, dying, files, async () => undefined);
    assert.equal(Array.from(pass.state.subarray(0, 5)), [PENDING, PENDING, PENDING, PENDING, PENDING], 'what it took is left');
    for (let k = 0; k < BLOCKS; k++) settle(pass, k, files);
    assertChecked(pass, 'after a failed worker, settled');

    const closed = HelperThread.start()!;
    await closed.close();
    assert.is(await closed.share(pass), false, 'a closed worker answers at once that it did nothing');
    await runRound(pass, BLOCKS, closed, files, async () => undefined);
    assertChecked(pass, 'with a closed worker');
  } finally {
    closePassFiles(files);
  }
});

test('bytes outside a .bmap\'s spans: the first one that is not zero, by either thread', async () => {
  // Spans leave out the stray byte of block 25 (a hole) and a data byte in block 31.
  const spans = [{ start: 0, end: 20 * BS }, { start: 30 * BS, end: 31 * BS + 100 }, { start: 31 * BS + 4096, end: size }];
  const pass = fullCheck(spans);
  const files = mainFiles(pass);
  const helper = HelperThread.start()!;
  try {
    await runRound(pass, BLOCKS, helper, files, async () => undefined);
    for (let b = 0; b < BLOCKS; b++) {
      const first = (() => {
        for (let i = b * BS; i < Math.min(size, (b + 1) * BS); i++) if (bytes[i] !== 0 && !spans.some((s) => i >= s.start && i < s.end)) return i;
        return -1;
      })();
      assert.is(pass.outside[b], first, `block ${b}`);
    }
    assert.is(pass.outside[25], 25 * BS + 777);
  } finally {
    closePassFiles(files);
    await helper.close();
  }
});

test('a .bmap with no ranges at all: every byte that is not zero is outside it (no map at all checks nothing)', async () => {
  for (const spans of [[], undefined]) {
    const pass = fullCheck(spans);
    const files = mainFiles(pass);
    try {
      await runRound(pass, BLOCKS, undefined, files, async () => undefined);
      const first = (b: number) => { for (let i = b * BS; i < Math.min(size, (b + 1) * BS); i++) if (bytes[i] !== 0) return i; return -1; };
      for (const b of [0, 25, 39]) assert.is(pass.outside[b], spans ? first(b) : -1, `block ${b}, ${spans ? 'an empty map' : 'no map'}`);
    } finally {
      closePassFiles(files);
    }
  }
});

test('firstOutside against a byte-by-byte search, for random spans and chunks', () => {
  for (let round = 0; round < 300; round++) {
    const len = 1 + Math.floor(Math.random() * 3000);
    const chunk = Buffer.alloc(len);
    for (let i = 0; i < 4; i++) chunk[Math.floor(Math.random() * len)] = 1 + Math.floor(Math.random() * 255);
    const at = Math.floor(Math.random() * 5000);
    const cuts = Array.from({ length: 2 * Math.floor(Math.random() * 5) }, () => Math.floor(Math.random() * 9000)).sort((a, b) => a - b);
    const spans = new Float64Array(cuts);
    let want = -1;
    for (let i = 0; i < len && want < 0; i++) {
      const o = at + i;
      let inside = false;
      for (let s = 0; s < cuts.length; s += 2) if (o >= cuts[s]! && o < cuts[s + 1]!) inside = true;
      if (chunk[i] !== 0 && !inside) want = o;
    }
    assert.is(firstOutside(spans, at, chunk), want, `spans ${cuts.join(',')} chunk at ${at}+${len}`);
  }
});

test('the read-back compare: a device (here an O_DIRECT file) that matches, and one byte that differs, found by either thread', async () => {
  const device = join(dir, 'device.bin');
  const copy = Buffer.from(bytes.subarray(0, 4 * CHUNK_MAX > size ? Math.floor(size / 4096) * 4096 : 4 * CHUNK_MAX));
  const chunks = Math.ceil(copy.length / CHUNK_MAX);
  const helper = HelperThread.start()!;
  try {
    for (const at of [-1, copy.length - 4096 + 123]) {
      const onDevice = Buffer.from(copy);
      if (at >= 0) onDevice[at] ^= 0xff;
      writeFileSync(device, onDevice);
      const pass = comparePass(image, device, 4096, chunks);
      for (let k = 0; k < chunks; k++) { pass.offsets[k] = k * CHUNK_MAX; pass.lengths[k] = Math.min(CHUNK_MAX, copy.length - k * CHUNK_MAX); }
      // The worker alone, then both.
      startRound(pass, chunks);
      assert.ok(await helper.share(pass), 'the worker compared');
      const byWorker = Array.from(pass.diff.subarray(0, chunks));
      const files = mainFiles(pass);
      try {
        await runRound(pass, chunks, helper, files, async () => undefined);
      } finally {
        closePassFiles(files);
      }
      assert.equal(Array.from(pass.diff.subarray(0, chunks)), byWorker, 'the same by one thread or two');
      for (let k = 0; k < chunks; k++) {
        const inChunk = at >= k * CHUNK_MAX && at < (k + 1) * CHUNK_MAX;
        assert.is(pass.diff[k], inChunk ? at - k * CHUNK_MAX : -1, `chunk ${k}, byte ${at} changed`);
        if (inChunk) {
          assert.is(pass.seen[k], onDevice[at]);
          assert.is(pass.want[k], copy[at]);
        }
      }
    }
  } finally {
    await helper.close();
  }
});

test('a file shorter than a block read: recorded as FAILED by the thread that met it; settle() reads again and throws, naming the file and byte', async () => {
  const pass = checkPass(image, size + BS, BS, 2, undefined);
  pass.blocks[0] = BLOCKS - 2; pass.data[0] = 1;
  pass.blocks[1] = BLOCKS - 1; pass.data[1] = 1;
  const files = mainFiles(pass);
  try {
    await runRound(pass, 2, undefined, files, async () => undefined);
    assert.equal([pass.state[0], pass.state[1]], [DONE, FAILED]);
    settle(pass, 0, files);
    const e = (() => { try { settle(pass, 1, files); return undefined; } catch (x) { return x; } })();
    assert.instance(e, Error);
    assert.match((e as Error).message, `${image}: ended at byte ${size}, expected 1000 more bytes (did it change while flashing?)`);
  } finally {
    closePassFiles(files);
  }
});

test.after(cleanup);
test.run();
