// disk/file-source.ts: reading an image file through a ByteSource. readSpaced, the one-call read
// of fixed-size slots that `status` scans the core-dump headers with, must give exactly what one
// read() per slot gives, on a real file and through the fallback every other source uses.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openFileSource } from '../../disk/file-source.js';
import { readSpaced } from '../../partitions/sink.js';
import { bufferSource } from '../helpers/file-source.js';
import { scratch } from '../helpers/tools.js';

const { dir, cleanup } = await scratch('bankforge-file-source-');

/** One read() per slot, packed as readSpaced packs them. */
async function oneByOne(src: { read(o: number, l: number): Promise<Buffer> }, offset: number, stride: number, count: number, length: number): Promise<Buffer> {
  const runs: Buffer[] = [];
  for (let i = 0; i < count; i++) runs.push(await src.read(offset + i * stride, length));
  return Buffer.concat(runs);
}

test('readSpaced of a file: the bytes of one read per slot, slots past the end as zeros', async () => {
  // A file shorter than the last slots (a sparse image cut short reads as zeros there).
  const bytes = randomBytes(40_000);
  const file = join(dir, 'spaced.img');
  await writeFile(file, bytes);
  const src = await openFileSource(file);
  try {
    assert.ok(src.readSpaced, 'a file source reads spaced slots in one call');
    for (const [offset, stride, count, length] of [[0, 4096, 10, 512], [100, 7000, 7, 300], [39_900, 512, 3, 200], [0, 1, 1, 40_000]] as const) {
      const spaced = await src.readSpaced!(offset, stride, count, length);
      assert.equal(spaced, await oneByOne(src, offset, stride, count, length), `${offset}/${stride}/${count}/${length}`);
    }
    const tail = await src.readSpaced!(39_900, 512, 3, 200);
    assert.equal(tail.subarray(0, 100), bytes.subarray(39_900), 'the part inside the file');
    assert.ok(tail.subarray(100).every((b) => b === 0), 'past the end: zeros');
  } finally {
    await src.close();
  }
});

test('readSpaced of a source without its own: one read() per slot', async () => {
  const bytes = randomBytes(10_000);
  const src = bufferSource(bytes);
  assert.is(src.readSpaced, undefined);
  assert.equal(await readSpaced(src, 10, 1000, 9, 64), await oneByOne(src, 10, 1000, 9, 64));
});

test.after(cleanup);
test.run();
