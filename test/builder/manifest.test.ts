// The manifest reader: formats 1 and 2 are read, a newer format or a damaged block list is
// refused with the field named, and the block list's runs must cover the image exactly; the
// block digests as the build computes them while writing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readImageManifest, ManifestError } from '../../builder/manifest.js';
import { BlockCheck, blockRuns, zeroDigest, type BlockMismatch } from '../../builder/image/blocks.js';
import { BlockHasher } from '../../builder/image/block-hasher.js';
import { scratch } from '../helpers/tools.js';

const D = 'a'.repeat(64), Z = zeroDigest(1024);
const v2 = (runs: unknown, size = 4096) => ({ format: 2, image: { file: 'x.img', size }, blocks: { size: 1024, zeroSha256: Z, runs } });

async function read(value: unknown): Promise<ReturnType<typeof readImageManifest>> {
  const { dir, cleanup } = await scratch();
  try {
    const path = join(dir, 'x.manifest.json');
    await writeFile(path, JSON.stringify(value));
    return await readImageManifest(path);
  } finally {
    await cleanup();
  }
}

async function refused(value: unknown, message: RegExp): Promise<void> {
  const e = await read(value).then(() => undefined, (err: Error) => err);
  assert.instance(e, ManifestError);
  assert.match(e!.message, message);
}

test('zeroDigest: sha256 of that many zero bytes, for block sizes the small buffer does not divide', () => {
  // sha256sum of 1 MiB of zeros (head -c 1048576 /dev/zero | sha256sum).
  assert.is(zeroDigest(1 << 20), '30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58');
  for (const n of [1, 1024, 65536, 65537, 100000]) assert.is(zeroDigest(n), createHash('sha256').update(Buffer.alloc(n)).digest('hex'), `${n} bytes`);
});

test('format 2 is read with its blocks; format 1 with its whole-image sha256', async () => {
  const m = await read(v2([{ first: 0, count: 1, sha256: [D] }, { first: 1, count: 3 }]));
  assert.is(m.format, 2);
  assert.equal(m.blocks!.runs, [{ first: 0, count: 1, sha256: [D] }, { first: 1, count: 3 }]);
  const m1 = await read({ format: 1, image: { file: 'x.img', size: 4096, sha256: D }, partitions: [{ sha256: D }] });
  assert.is(m1.format, 1);
  assert.is(m1.sha256, D);
  assert.is(m1.blocks, undefined);
});

test('a newer or unknown format, and a block list that does not cover the image, are refused by field', async () => {
  await refused({ ...v2([]), format: 3 }, /format: 3 is newer than this bankforge reads \(1, 2\); upgrade bankforge/);
  await refused({ ...v2([]), format: 'two' }, /format: expected 1 or 2, found "two"/);
  await refused(v2([{ first: 0, count: 2 }]), /blocks\.runs: cover 2 of the image's 4 blocks/);
  await refused(v2([{ first: 0, count: 1 }, { first: 2, count: 2 }]), /blocks\.runs\[1\]\.first: expected 1/);
  await refused(v2([{ first: 0, count: 5 }]), /blocks\.runs\[0\]\.count: expected 1\.\.4/);
  await refused(v2([{ first: 0, count: 2, sha256: [D] }, { first: 2, count: 2 }]), /blocks\.runs\[0\]\.sha256: expected 2 sha256s/);
  await refused({ format: 1, image: { file: 'x.img', size: 1 } }, /image\.sha256: missing/);
});

test('blockRuns: data ranges become runs of touched blocks, holes between, covering the image', () => {
  assert.equal(blockRuns(8192, [{ offset: 0, length: 10 }, { offset: 1000, length: 100 }, { offset: 5000, length: 2048 }], 1024), [
    { first: 0, count: 2, data: true }, { first: 2, count: 2, data: false }, { first: 4, count: 3, data: true }, { first: 7, count: 1, data: false },
  ]);
  assert.equal(blockRuns(1500, [], 1024), [{ first: 0, count: 2, data: false }]);
});

test('BlockHasher: digests as the written bytes would read back, holes as zeros; blocks written out of order are hashed from the file', async () => {
  const size = 4500, bs = 1024;
  const image = Buffer.alloc(size);
  const h = new BlockHasher(size, bs);
  const write = (at: number, fill: number, n: number): void => {
    const data = Buffer.alloc(n, fill);
    data.copy(image, at);
    h.add(at, data);
  };
  write(4400, 9, 100); // the end first, as the backup GPT is: block 4 (short) is left, then revisited
  write(10, 1, 20); // block 0, in order: hashed as it comes
  write(1000, 2, 100); // spans blocks 0 and 1
  write(1500, 3, 10);
  write(1200, 4, 10); // back inside block 1: hashed from the file
  write(4096, 5, 8); // block 4 again
  const fromFile: number[] = [];
  const digests = await h.result(async (blocks) => {
    fromFile.push(...blocks);
    return blocks.map((b) => createHash('sha256').update(image.subarray(b * bs, Math.min(size, (b + 1) * bs))).digest('hex'));
  });
  assert.equal(fromFile, [1, 4]);
  assert.equal([...digests.keys()].sort(), [0, 1, 4]);
  for (const b of [0, 1, 4]) assert.is(digests.get(b), createHash('sha256').update(image.subarray(b * bs, Math.min(size, (b + 1) * bs))).digest('hex'), `block ${b}`);
});

test('BlockCheck: data blocks by digest, holes as zeros, a short last block', () => {
  const img = Buffer.alloc(2500);
  img.fill(7, 0, 1024);
  const list = { size: 1024, zeroSha256: Z, runs: [{ first: 0, count: 1, sha256: [createHash('sha256').update(img.subarray(0, 1024)).digest('hex')] }, { first: 1, count: 2 }] };
  const seen: BlockMismatch[] = [];
  const check = (bytes: Buffer) => {
    const c = new BlockCheck(list, bytes.length, 0, (m) => { seen.push(m); throw new Error('mismatch'); });
    try { for (let at = 0; at < bytes.length; at += 300) c.update(bytes.subarray(at, at + 300)); c.end(); } catch { /* recorded */ }
  };
  check(img);
  assert.equal(seen, []);
  const bad = Buffer.from(img); bad[2400] = 1;
  check(bad);
  assert.equal(seen.map((m) => [m.block, m.offset, m.length, m.hole]), [[2, 2048, 452, true]]);
  const bad2 = Buffer.from(img); bad2[5] = 1;
  check(bad2);
  assert.equal(seen.slice(1).map((m) => [m.block, m.hole]), [[0, false]]);
});

test('BlockCheck.zeros: a hole of the file fed unread equals its zero bytes fed, in holes and data blocks alike', () => {
  const bs = 1024;
  const img = Buffer.alloc(5000);
  img.fill(3, 1100, 1200);   // block 1 holds data with zeros around it; block 4 (904 bytes) is zeros but listed as data
  const digest = (b: number) => createHash('sha256').update(img.subarray(b * bs, Math.min(img.length, (b + 1) * bs))).digest('hex');
  const list = { size: bs, zeroSha256: Z, runs: [{ first: 0, count: 1 }, { first: 1, count: 1, sha256: [digest(1)] }, { first: 2, count: 2 }, { first: 4, count: 1, sha256: [digest(4)] }] };
  const seen: BlockMismatch[] = [];
  const c = new BlockCheck(list, img.length, 0, (m) => { seen.push(m); throw new Error(`mismatch ${m.block}`); });
  c.zeros(1100);                      // block 0 and the start of data block 1, unread
  c.update(img.subarray(1100, 1200));
  c.zeros(3800);                      // the rest of block 1, holes 2-3 and the short data block 4
  c.end();
  assert.equal(seen, []);
  // Zeros where the list has other data are a mismatch of that block, as read zeros would be.
  const other = { ...list, runs: [{ first: 0, count: 5, sha256: [Z, digest(1), Z, Z, digest(4)] }] };
  const d = new BlockCheck(other, img.length, 0, (m) => { seen.push(m); throw new Error(`mismatch ${m.block}`); });
  assert.throws(() => d.zeros(img.length), /mismatch 1/);
  assert.equal(seen.map((m) => [m.block, m.hole]), [[1, false]]);
});

test.run();
