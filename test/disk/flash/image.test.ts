// What flash is given (disk/flash/image.ts), as a hostile user gives it (issue 15 item 7 and 10):
// every file that is not a usable image is bad input (exit 3) that says what it is, before any
// device is looked at.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { openImage } from '../../../disk/flash/image.js';
import { BankforgeError, EXIT } from '../../../support/errors.js';
import { buildQuiet } from '../../helpers/images.js';
import { scratch } from '../../helpers/tools.js';

const { dir, cleanup } = await scratch('bankforge-flash-image-');
const img = join(dir, 'small.img');
await buildQuiet({ layout: 'small', out: img, version: '1.0.0' });
const gz = gzipSync(await readFile(img), { level: 1 });

async function refused(name: string, content: Buffer, message: RegExp): Promise<void> {
  const path = join(dir, name);
  await writeFile(path, content);
  const e = await openImage(path).then(() => undefined, (x: unknown) => x);
  assert.instance(e, BankforgeError, `${name}: ${String(e)}`);
  assert.is((e as BankforgeError).exitCode, EXIT.input, name);
  assert.match((e as Error).message, message, name);
}

test('a 0-byte image and an empty .zst are said to be empty', async () => {
  await refused('empty.img', Buffer.alloc(0), /empty\.img is empty \(0 bytes\): not a disk image/);
  await refused('empty.img.zst', Buffer.alloc(0), /empty\.img\.zst is empty \(0 bytes\)/);
});

test('a raw file too small for a GPT is not a GPT image (no negative offset)', async () => {
  await refused('tiny.img', Buffer.alloc(1024), /tiny\.img is not a GPT disk image \(1024 bytes is too small for a GPT disk/);
});

test('a truncated or garbage .gz is a damaged gzip stream', async () => {
  await refused('cut.img.gz', gz.subarray(0, Math.floor(gz.length / 2)), /cut\.img\.gz: gzip stream is damaged at byte \d+ of its output: unexpected end of file/);
  await refused('garbage.img.gz', Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('garbage garbage garbage')]), /garbage\.img\.gz: gzip stream is damaged at byte 0/);
});

test('a file named .xz (or .gz, .zst) that is not compressed that way is not written as a raw image', async () => {
  await refused('garbage.img.xz', Buffer.from('garbage, not xz at all'), /garbage\.img\.xz is named \.xz but is not xz-compressed/);
  await refused('raw.img.zst', await readFile(img), /raw\.img\.zst is named \.zst but is not zstd-compressed/);
  await refused('gz.img.xz', gz, /gz\.img\.xz is named \.xz but is not xz-compressed \(it is gzip-compressed\)/);
});

test('a manifest beside the image that is not valid JSON is noted and not used (was an internal error)', async () => {
  const copy = join(dir, 'withbad.img');
  await writeFile(copy, await readFile(img));
  await writeFile(join(dir, 'withbad.manifest.json'), '{"image": ');
  const src = await openImage(copy);
  assert.is(src.manifest, undefined);
  assert.ok(src.notes.some((n) => /withbad\.manifest\.json: not valid JSON: .*the manifest is not used/.test(n)), src.notes.join('\n'));
});

test.after(cleanup);
test.run();
