// The sparse image writer's file copy: host files land byte for byte at their offset, zero
// chunks stay holes, every block it hashed while copying matches sha256 of the bytes read back,
// a file that shrank since planning is refused by name, and a copy long enough to start
// background flushes still ends complete.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomFillSync } from 'node:crypto';
import { open, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FLUSH_EVERY, SparseImageFile } from '../../../builder/image/sparse-file.js';
import { MiB } from '../../../partitions/units.js';
import { scratch } from '../../helpers/tools.js';

const BLOCK = MiB;

/** Random bytes with one zeroed 1 MiB copy chunk in the middle (a chunk the copy must leave a hole). */
function content(size: number, zeroChunkAt?: number): Buffer {
  const b = randomFillSync(Buffer.alloc(size));
  if (zeroChunkAt !== undefined) b.fill(0, zeroChunkAt, zeroChunkAt + MiB);
  return b;
}

async function digestsMatch(img: SparseImageFile, path: string): Promise<void> {
  const digests = await img.hasher.result(async () => []);
  const bytes = await readFile(path);
  for (const [b, d] of digests) {
    assert.is(d, createHash('sha256').update(bytes.subarray(b * BLOCK, (b + 1) * BLOCK)).digest('hex'), `block ${b}`);
  }
}

test('copyFile: bytes at their offset, zero chunks left as holes, block digests as read back', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const src = join(dir, 'src.bin');
    const data = content(12 * MiB + 1234, 4 * MiB);
    await writeFile(src, data);
    const path = join(dir, 'img');
    const img = await SparseImageFile.create(path, 32 * MiB, BLOCK);
    const at = 3 * MiB + 512;
    await img.copyFile(at, src, data.length);
    await img.close();
    const back = await readFile(path);
    assert.ok(back.subarray(at, at + data.length).equals(data), 'copied bytes differ');
    assert.ok(back.subarray(0, at).equals(Buffer.alloc(at)), 'bytes before the copy are not zero');
    assert.equal(img.dataRanges(), [{ offset: at, length: 4 * MiB }, { offset: at + 5 * MiB, length: 7 * MiB + 1234 }]);
    await digestsMatch(img, path);
  } finally {
    await cleanup();
  }
});

test('copyFile: a file shorter than planned is refused with its name and where it ended', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const src = join(dir, 'shrunk.bin');
    await writeFile(src, content(6 * MiB));
    const img = await SparseImageFile.create(join(dir, 'img'), 32 * MiB, BLOCK);
    await truncate(src, 5 * MiB);
    try {
      await img.copyFile(0, src, 6 * MiB);
      assert.unreachable('copied a file that ended early');
    } catch (e) {
      assert.match((e as Error).message, `${src}: expected ${6 * MiB} bytes, the file ended at ${5 * MiB}`);
    } finally {
      await img.close();
    }
  } finally {
    await cleanup();
  }
});

test('copyFile past the background flush threshold: complete after close, digests as read back', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const src = join(dir, 'big.bin');
    const data = content(2 * FLUSH_EVERY + 77);
    await writeFile(src, data);
    const path = join(dir, 'img');
    const img = await SparseImageFile.create(path, 2 * FLUSH_EVERY + 2 * MiB, BLOCK);
    await img.copyFile(MiB, src, data.length);
    assert.ok(img.flushesStarted >= 1, `background flushes before close: ${img.flushesStarted}`);
    await img.close();
    const fh = await open(path, 'r');
    try {
      const back = Buffer.alloc(data.length);
      await fh.read(back, 0, back.length, MiB);
      assert.ok(back.equals(data), 'copied bytes differ');
    } finally {
      await fh.close();
    }
    await digestsMatch(img, path);
  } finally {
    await cleanup();
  }
});

test.run();
