// The whole-file helpers the image tests lean on: a helper that always answered "not found" would
// make their checks unable to fail.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileIncludes, sha256OfFile } from './file-bytes.js';
import { scratch } from './tools.js';

const { dir, cleanup } = await scratch('bankforge-file-bytes-');
const MiB = 1024 * 1024;

test('sha256OfFile equals the digest of the bytes, across several reads and for an empty file', async () => {
  const bytes = Buffer.alloc(2 * MiB + 123, 7);
  bytes.write('middle', MiB + 5);
  const f = join(dir, 'a.bin');
  await writeFile(f, bytes);
  assert.is(await sha256OfFile(f), createHash('sha256').update(bytes).digest('hex'));
  await writeFile(join(dir, 'empty'), '');
  assert.is(await sha256OfFile(join(dir, 'empty')), createHash('sha256').digest('hex'));
});

test('fileIncludes finds a string inside a read, across the boundary of two reads, at the end; not one that is absent', async () => {
  const f = join(dir, 'b.bin');
  const bytes = Buffer.alloc(3 * MiB);
  bytes.write('/split/path', MiB - 4);
  bytes.write('/at/end', bytes.length - 7);
  bytes.write('/inside', 2 * MiB + 100);
  bytes.write('/second/split', 2 * MiB - 6);   // across the second boundary, where bytes carried over come first
  await writeFile(f, bytes);
  assert.is(await fileIncludes(f, ['/nowhere', '/split/path']), '/split/path');
  assert.is(await fileIncludes(f, ['/at/end']), '/at/end');
  assert.is(await fileIncludes(f, ['/inside']), '/inside');
  assert.is(await fileIncludes(f, ['/nowhere', '/second/split']), '/second/split');
  assert.is(await fileIncludes(f, ['/nowhere', '/split/pathX']), undefined);
});

test.after(cleanup);
test.run();
