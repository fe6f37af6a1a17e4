// Hostile bundles (issue 15): every one is refused with exit 3 naming the offset or field,
// quickly, and the target is not written. A crafted size never reaches an allocation, a FIFO is
// not waited on, a manifest has exactly the documented shape, and a signature is either checked
// or explicitly waived: 64 bytes in the signature field are never called "signed" on their own.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, open, readFile, truncate, writeFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_EPOCH } from '../../../builder/build.js';
import { createBundle } from '../../../builder/bundle/create.js';
import { BUNDLE, encodeHeader, HDR } from '../../../builder/bundle/format.js';
import { sha256 } from '../../../partitions/bank-files.js';
import { cli } from '../../helpers/cli.js';
import { buildQuiet } from '../../helpers/images.js';
import { scratch } from '../../helpers/tools.js';

const { dir, cleanup } = await scratch('bankforge-bundle-read-');
const image = join(dir, 'fresh.img');
await buildQuiet({ layout: 'small', out: image, version: '1.0.0' });
const plain = join(dir, 'plain.bfb');
await createBundle({ version: '2.0.0', layout: 'small', out: plain, kernelopt: '', bootTimeout: 0, epoch: DEFAULT_EPOCH });
const before = sha256(await readFile(image));
/** The image's status-change time: unchanged means nothing wrote to it, truncated it or changed its mode (user space cannot set it back). */
const changed = (): bigint => statSync(image, { bigint: true }).ctimeNs;
const unchanged = changed();

/** The parts of a bundle file: header fields, the manifest as an object, the payload. */
async function parts(path: string) {
  const b = await readFile(path);
  const mlen = b.readUInt32LE(HDR.manifestLength);
  const slen = b.readUInt32LE(HDR.signatureLength);
  return { manifest: JSON.parse(b.subarray(24, 24 + mlen).toString()) as Record<string, any>, payload: b.subarray(24 + mlen + slen) };
}

/** A bundle with `manifest` (text or object), an optional signature and `payload`. */
async function craft(name: string, manifest: unknown, payload: Buffer, signature?: Buffer): Promise<string> {
  const m = Buffer.from(typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  const path = join(dir, name);
  await writeFile(path, Buffer.concat([encodeHeader(m.length, signature?.length ?? 0), m, signature ?? Buffer.alloc(0), payload]));
  return path;
}

async function refused(args: string[], message: RegExp): Promise<string> {
  const t0 = Date.now();
  const r = await cli(['upgrade', image, ...args]);
  assert.is(r.exitCode, 3, r.stderr);
  assert.match(r.stderr, message);
  assert.not.match(r.stderr, /internal error/);
  assert.ok(Date.now() - t0 < 20_000, 'answered promptly');
  // Per refusal, that nothing wrote to the target; its bytes are compared once, after them all
  // (a sha256 of the image per refusal was 3.6 s of this file's CPU).
  assert.is(changed(), unchanged, 'the target was written to (its ctime changed)');
  return r.stderr;
}

test('a payload claiming more than 2 GiB (and 4 GiB) is refused by field, without SIGABRT', async () => {
  const { manifest, payload } = await parts(plain);
  for (const claim of [3 * 1024 ** 3, 5 * 1024 ** 3]) {
    const m = structuredClone(manifest);
    m.files[0].size += claim;
    m.payload.size += claim;
    const path = await craft(`huge-${claim}.bfb`, m, payload);
    await refused([path], /manifest field files\[0\]\.size: expected an integer 0\.\.1073741824/);
    // The same with a file really that long (sparse): its size is refused before anything is read.
    await truncate(path, (await readFile(path)).length + claim);
    await refused([path], /payload at offset \d+: \d+ bytes; a bundle payload is at most 1073741824/);
  }
});

test('a manifest with a field the format does not have is refused, naming it ("exactly the shape")', async () => {
  const { manifest, payload } = await parts(plain);
  await refused([await craft('extra.bfb', { ...manifest, comment: 'hi' }, payload)], /manifest field comment: unknown field; expected one of format, version/);
  await refused([await craft('extra-build.bfb', { ...manifest, build: { ...manifest.build, constructor: 1 } }, payload)], /manifest field build\.constructor: unknown field/);
  const proto = JSON.stringify(manifest).replace('"payload":{', '"payload":{"__proto__":{"size":1},');
  await refused([await craft('proto.bfb', proto, payload)], /manifest field payload\.__proto__: unknown field/);
});

test('a manifest nested 100,000 deep is bad input at its byte offset, not a stack overflow', async () => {
  await refused([await craft('deep.bfb', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, Buffer.alloc(0))], /manifest at offset 24: nested deeper than 8 levels at byte 32/);
});

test('a FIFO or a directory given as the bundle is refused at once', async () => {
  execFileSync('mkfifo', [join(dir, 'fifo.bfb')]);
  await mkdir(join(dir, 'dir.bfb'));
  await refused([join(dir, 'fifo.bfb')], /fifo\.bfb is a FIFO \(named pipe\); a bundle is a file/);
  await refused([join(dir, 'dir.bfb')], /dir\.bfb is a directory; a bundle is a file/);
});

test('a FIFO given as --pubkey is refused at once (it was read with a blocking open)', async () => {
  execFileSync('mkfifo', [join(dir, 'key.fifo')]);
  await refused([plain, '--pubkey', join(dir, 'key.fifo')], /cannot read public key .*key\.fifo: not a regular file \(a FIFO\)/);
});

test('a signed bundle needs --pubkey or --allow-unverified; an all-zero signature is never reported as signed', async () => {
  const { manifest, payload } = await parts(plain);
  const fake = await craft('zero-sig.bfb', manifest, payload, Buffer.alloc(BUNDLE.signatureSize));
  await refused([fake], /carries a signature, but no public key was given to check it: give --pubkey PEM, or --allow-unverified/);
  const copy = join(dir, 'target.img');
  await copyFile(image, copy);
  const r = await cli(['upgrade', copy, fake, '--allow-unverified']);
  assert.is(r.exitCode, 0, r.stderr);
  assert.match(r.stderr, /its signature was not verified \(--allow-unverified\)/);
  assert.not.match(r.stderr, /is signed/);
});

test('a bundle whose file shrinks below its header is caught by the size checks, not by a short read', async () => {
  const path = join(dir, 'short.bfb');
  await copyFile(plain, path);
  const fh = await open(path, 'r+');
  await fh.truncate(BUNDLE.headerSize + 1);
  await fh.close();
  await refused([path], /truncated: header and manifest need \d+ bytes, the file has 25/);
});

test('after every refusal above, the target is byte-identical', async () => {
  assert.is(sha256(await readFile(image)), before);
});

test.after(cleanup);
test.run();
