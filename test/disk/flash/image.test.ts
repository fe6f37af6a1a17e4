// What flash is given (disk/flash/image.ts), as a hostile user gives it (issue 15 item 7 and 10):
// every file that is not a usable image is bad input (exit 3) that says what it is, before any
// device is looked at; and the check against the manifest (sidecars.ts) that reads only what a
// sparse image holds.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { open, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { truncateSync } from 'node:fs';
import { execa } from 'execa';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { openImage, type ImageSource } from '../../../disk/flash/image.js';
import { openReader } from '../../../disk/flash/reader.js';
import { dataExtents } from '../../../disk/file-extents.js';
import { blocksToRead, checkSidecars } from '../../../disk/flash/sidecars.js';
import { HelperThread } from '../../../disk/flash/helper-thread.js';
import { CHUNK_MAX, checkPass, closePassFiles, doItem, openPassFiles, startRound, stop, type Pass } from '../../../disk/flash/block-pass.cjs';
import { CHUNK, segments } from '../../../disk/flash/segments.js';
import { alignedBuffer } from '../../../disk/flash/direct-io.cjs';
import { FlashFailure } from '../../../disk/flash/errors.js';
import { BankforgeError, EXIT } from '../../../support/errors.js';
import { buildQuiet } from '../../helpers/images.js';
import { scratch } from '../../helpers/tools.js';
import { sha256OfFile } from '../../helpers/file-bytes.js';

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

/** small.img's manifest, written beside it as NAME.manifest.json naming NAME.img (a copy of small.img the test makes). */
async function manifestFor(name: string) {
  const manifest = JSON.parse(await readFile(join(dir, 'small.manifest.json'), 'utf8'));
  manifest.image.file = `${name}.img`;
  await writeFile(join(dir, `${name}.manifest.json`), JSON.stringify(manifest));
  return manifest;
}

test('a manifest beside the image that is not valid JSON is noted and not used (was an internal error)', async () => {
  const copy = join(dir, 'withbad.img');
  await writeFile(copy, await readFile(img));
  await writeFile(join(dir, 'withbad.manifest.json'), '{"image": ');
  const src = await openImage(copy);
  assert.is(src.manifest, undefined);
  assert.ok(src.notes.some((n) => /withbad\.manifest\.json: not valid JSON: .*the manifest is not used/.test(n)), src.notes.join('\n'));
});

test('the check against a format 2 manifest reads data blocks and only what the file holds in its holes; data written into a hole is refused', async () => {
  const sparse = join(dir, 'sparse.img');
  await execa('cp', ['--sparse=always', img, sparse]);
  const manifest = await manifestFor('sparse');
  const dataBytes = (manifest.blocks.runs as { first: number; count: number; sha256?: string[] }[])
    .filter((r) => r.sha256).reduce((n, r) => n + Math.min(r.count * manifest.blocks.size, manifest.image.size - r.first * manifest.blocks.size), 0);
  // By the main thread alone, and shared with a worker thread (flash.ts starts one for images with much data): the same answers.
  const helper = HelperThread.start()!;
  // Started and answering before the checks, as flash's is by the time it checks a large image.
  const empty = checkPass(sparse, 0, 1024 * 1024, 1, undefined);
  startRound(empty, 0);
  assert.ok(await helper.share(empty), 'the worker answers');
  const checked = async (): Promise<{ total: number; error: unknown }> => {
    const seen = [];
    for (const h of [undefined, helper]) {
      let total = 0;
      let last = 0;
      const progress = { phase(_name: string, t: number) { total = t; }, note() {}, update(n: number) { last = n; } };
      const error = await checkSidecars(await openImage(sparse), '/dev/null', progress, undefined, undefined, h).then(() => undefined, (e: unknown) => e);
      if (!error) assert.is(last, total, `${h ? 'shared' : 'alone'}: progress reaches the total`);
      seen.push({ total, error });
    }
    assert.is(seen[1]!.total, seen[0]!.total);
    assert.is(String(seen[1]!.error), String(seen[0]!.error), 'the same error, or none, alone and shared');
    return seen[0]!;
  };
  const clean = await checked();
  assert.is(clean.error, undefined, String(clean.error));
  assert.is(clean.total, dataBytes, 'a sparse image: the data blocks are read, no hole');

  // A byte in the middle of the first hole run: the filesystem now holds data there.
  const hole = (manifest.blocks.runs as { first: number; count: number; sha256?: string[] }[]).find((r) => !r.sha256 && r.count > 2)!;
  const at = (hole.first + 1) * manifest.blocks.size + 12345;
  const fh = await open(sparse, 'r+');
  await fh.write(Buffer.from('X'), 0, 1, at);
  await fh.close();
  const dirty = await checked();
  assert.instance(dirty.error, FlashFailure);
  assert.match((dirty.error as Error).message, new RegExp(`sparse\\.img does not match .*sparse\\.manifest\\.json: block ${hole.first + 1} \\(bytes ${(hole.first + 1) * manifest.blocks.size}\\.\\.[0-9]+\\) holds data where the manifest declares a hole; nothing was written to /dev/null`));
  assert.ok(dirty.total > dataBytes && dirty.total < dataBytes + 16 * 1024 * 1024, `the block holding the byte is read too (${dirty.total} bytes)`);

  // A data block changed too, after the dirty hole: the hole, first in the image, is still what is named.
  const data = (manifest.blocks.runs as { first: number; count: number; sha256?: string[] }[]).filter((r) => r.sha256 && r.first > hole.first).at(-1)!;
  const fh2 = await open(sparse, 'r+');
  await fh2.write(Buffer.from('Y'), 0, 1, data.first * manifest.blocks.size + 1);
  await fh2.close();
  assert.match(String((await checked()).error), `block ${hole.first + 1} (bytes`);
  await helper.close();
});

test('an image cut short beside the manifest that names it is refused (exit 8), not flashed unchecked', async () => {
  const cut = join(dir, 'cut.img');
  await execa('cp', ['--sparse=always', img, cut]);
  const manifest = await manifestFor('cut');
  await truncate(cut, 8 * 1024 * 1024);
  const e = await openImage(cut).then(() => undefined, (x: unknown) => x);
  assert.instance(e, FlashFailure);
  assert.is((e as FlashFailure).exitCode, EXIT.failed);
  assert.match((e as Error).message, `${cut} is 8388608 bytes, and ${join(dir, 'cut.manifest.json')}, which names it, says ${manifest.image.size}: was it cut short or changed after its build? Nothing was written`);
  // A manifest naming another file is still only noted.
  manifest.image.file = 'other.img';
  await writeFile(join(dir, 'cut.manifest.json'), JSON.stringify(manifest));
  const opened = await openImage(cut).then((x) => x, () => undefined);
  assert.ok(opened?.notes.some((n) => n.includes('describes other.img')), String(opened?.notes));
});

test('shared with a helper that does every block last to first: the first block that does not match is named, a failed read in a later block hides nothing, and an image cut short meanwhile is said to have changed', async () => {
  const order = join(dir, 'order.img');
  const manifest = await manifestFor('order');
  const bs = manifest.blocks.size as number;
  const data = (manifest.blocks.runs as { first: number; count: number; sha256?: string[] }[]).filter((r) => r.sha256);
  const [early, late] = [data[1]!.first, data.at(-1)!.first];
  /** The check of order.img (a fresh copy, `early`'s block changed or not) shared with a helper that does every block, last first, after cutting the file inside `late`'s block if asked. */
  const checkBackwards = async (changeEarly: boolean, cut: boolean): Promise<unknown> => {
    await execa('cp', ['--sparse=always', img, order]);
    if (changeEarly) {
      const fh = await open(order, 'r+');
      await fh.write(Buffer.from('Q'), 0, 1, early * bs + 3);
      await fh.close();
    }
    let did = 0;
    const backwards = {
      share: async (pass: Pass) => {
        if (cut) truncateSync(order, late * bs + 100);
        const files = openPassFiles(pass, { buf: Buffer.allocUnsafe(CHUNK_MAX) });
        try {
          const count = pass.count;
          stop(pass);
          for (let k = count - 1; k >= 0; k--, did++) doItem(pass, k, files);
        } finally {
          closePassFiles(files);
        }
        return true;
      },
    } as unknown as HelperThread;
    const progress = { phase() {}, note() {}, update() {} };
    const e = await checkSidecars(await openImage(order), '/dev/null', progress, undefined, undefined, backwards).then(() => undefined, (x: unknown) => x);
    assert.ok(did > 0, 'the helper did the blocks');
    return e;
  };
  const named = `order.img does not match ${join(dir, 'order.manifest.json')}: block ${early} (bytes ${early * bs}..`;
  for (const cut of [false, true]) {
    const e = await checkBackwards(true, cut);
    assert.instance(e, FlashFailure, `cut ${cut}: ${String(e)}`);
    assert.match((e as Error).message, named);
  }
  const e = await checkBackwards(false, true);
  assert.instance(e, BankforgeError);
  assert.match((e as Error).message, `${order} changed while it was flashed`);
});

/** The segments `src` yields, as offset+length:sha256, and the bytes read for them. */
async function walk(src: ImageSource): Promise<{ segs: string[]; read: number }> {
  const reader = await src.openReader();
  let read = 0;
  const counting = { read: (offset: number, into: Buffer) => { read += into.length; return reader.read(offset, into); }, close: () => reader.close() };
  const segs: string[] = [];
  try {
    const buf = alignedBuffer(CHUNK);
    for await (const s of segments(src, counting, { checkBmap: false, checkManifest: true }, async () => buf, () => undefined)) segs.push(`${s.offset}+${s.data.length}:${createHash('sha256').update(s.data).digest('hex')}`);
  } finally { await counting.close(); }
  return { segs, read };
}
const refusal = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (x: unknown) => x);
/** The CHUNK-sized pieces of a file of `size` bytes that `spans` reach, in bytes (the last one may be short). */
const chunkBytes = (spans: readonly { start: number; end: number }[], size: number): number =>
  [...new Set(spans.flatMap((x) => Array.from({ length: Math.ceil(x.end / CHUNK) - Math.floor(x.start / CHUNK) }, (_, k) => Math.floor(x.start / CHUNK) + k)))]
    .reduce((n, c) => n + Math.min(CHUNK, size - c * CHUNK), 0);

test('segments of a raw image: what a full read yields, from the chunks its data extents and the manifest\'s data blocks reach', async () => {
  const source = await openImage(img);
  const extents = (await source.extents)!;
  assert.ok(extents.length > 0, 'no data extents for a built image');
  const skipping = await walk(source);
  const full = await walk({ ...source, extents: Promise.resolve(undefined) });
  assert.equal(skipping.segs, full.segs);
  assert.is(full.read, source.size);
  const blocks = source.manifest!.blocks!;
  const dataBlocks = blocks.runs.filter((r) => r.sha256).map((r) => ({ start: r.first * blocks.size, end: Math.min(source.size, (r.first + r.count) * blocks.size) }));
  assert.is(skipping.read, chunkBytes([...extents, ...dataBlocks], source.size), 'only the chunks a data extent or data block reaches are read');
  assert.ok(skipping.read < source.size / 4, `${skipping.read} of ${source.size} bytes read`);
  // Extents that miss data (a filesystem's wrong answer): the manifest's data blocks are read anyway.
  assert.equal((await walk({ ...source, extents: Promise.resolve(extents.slice(1)) })).segs, full.segs);

  // Without a manifest, the extents alone: a file written, cut short, replaced or removed after it
  // was opened is refused at the end of the walk (its ctime, size or inode), before the partition
  // table is written.
  const MiB = 1024 * 1024;
  for (const [name, change] of [
    ['cut', (f: string) => truncate(f, (source.size - MiB))],
    ['written', async (f: string) => { const fh = await open(f, 'r+'); await fh.write(Buffer.from('X'), 0, 1, source.size - 3 * MiB - 5); await fh.close(); }],
    ['replaced', async (f: string) => { await execa('cp', ['--sparse=always', img, `${f}.new`]); await rename(`${f}.new`, f); }],
    ['removed', (f: string) => rm(f)],
  ] as const) {
    const f = join(dir, `${name}.img`);
    await execa('cp', ['--sparse=always', img, f]);
    const opened = await openImage(f);
    assert.is(opened.manifest, undefined);
    const before = (await opened.extents)!;
    const reader = await opened.openReader();   // as flash opens it, before it writes
    await change(f);
    const e = await refusal(walk({ ...opened, openReader: async () => reader, extents: Promise.resolve(before.filter((x) => x.end <= source.size - MiB)) }));
    assert.instance(e, BankforgeError, name);
    assert.match((e as Error).message, name === 'removed' ? /removed\.img was removed while it was flashed/ : new RegExp(`${name}\\.img changed while it was flashed \\(now \\d+ bytes, ${source.size} when opened`), name);
  }
});

test('segments of a sparse file with data at odd places, not a whole number of chunks long: the same as a full read, with and without a format 1 manifest', async () => {
  const MiB = 1024 * 1024;
  const f = join(dir, 'odd.bin');
  const size = 600 * MiB + 12345;   // holes longer than a skip step, and a short last chunk
  await writeFile(f, '');
  await truncate(f, size);
  const fh = await open(f, 'r+');
  for (const [at, len] of [[3 * MiB + 17, 100], [300 * MiB - 5000, 10000], [size - 100, 100]]) await fh.write(Buffer.alloc(len, 0xa5), 0, len, at);
  await fh.close();
  const st = await stat(f);
  const wholeSha = await sha256OfFile(f);
  const raw = { path: f, compression: 'none', size, bmap: undefined, manifest: undefined, notes: [], extents: dataExtents(f), opened: { ino: st.ino, ctimeMs: st.ctimeMs }, openReader: () => openReader(f, 'none') } as unknown as ImageSource;
  const full = await walk({ ...raw, extents: Promise.resolve(undefined) });
  const skipping = await walk(raw);
  assert.equal(skipping.segs, full.segs);
  assert.is(skipping.segs.length, 4, skipping.segs.join('\n'));   // the middle write crosses a chunk boundary
  assert.is(skipping.read, chunkBytes((await raw.extents)!, size));
  const v1 = (sha256: string) => ({ ...raw, manifest: { path: 'odd.manifest.json', sha256 } as unknown as ImageSource['manifest'] });
  assert.equal((await walk(v1(wholeSha))).segs, full.segs);
  const e = await refusal(walk(v1('0'.repeat(64))));
  assert.instance(e, FlashFailure);
  assert.match((e as Error).message, new RegExp(`odd\\.bin does not match odd\\.manifest\\.json: the image hashes to ${wholeSha}`));
});

test('a .bmap in blocks finer than the image\'s sectors is refused by file and field before any device is looked at', async () => {
  // A 4Kn image with a map in 512-byte blocks: its ranges could not be written O_DIRECT.
  const img4k = join(dir, 'fourk.img');
  await buildQuiet({ layout: 'small', out: img4k, version: '1.0.0', sectorSize: 4096 });
  const bmap = `<?xml version="1.0" ?>
<bmap version="2.0">
    <ImageSize> ${(await readFile(img4k)).length} </ImageSize>
    <BlockSize> 512 </BlockSize>
    <BlocksCount> ${(await readFile(img4k)).length / 512} </BlocksCount>
    <MappedBlocksCount> 1 </MappedBlocksCount>
    <ChecksumType> sha256 </ChecksumType>
    <BmapFileChecksum> 0000000000000000000000000000000000000000000000000000000000000000 </BmapFileChecksum>
    <BlockMap>
        <Range chksum="0000000000000000000000000000000000000000000000000000000000000000"> 1 </Range>
    </BlockMap>
</bmap>
`;
  // The file's own checksum is over its text with that field as zeros (bmaptool's rule).
  const sum = createHash('sha256').update(bmap).digest('hex');
  await writeFile(join(dir, 'fourk.img.bmap'), bmap.replace(/<BmapFileChecksum> 0{64}/, `<BmapFileChecksum> ${sum}`));
  const e = await openImage(img4k).then(() => undefined, (x: unknown) => x);
  assert.instance(e, BankforgeError, String(e));
  assert.is((e as BankforgeError).exitCode, EXIT.input);
  assert.match((e as Error).message, /fourk\.img\.bmap: <BlockSize> 512 is not a multiple of the image's 4096-byte sectors/);
});

test('blocksToRead: data runs whole, hole blocks only where an extent overlaps them, merged, the short last block kept short', () => {
  const list = { size: 100, zeroSha256: '0'.repeat(64), runs: [{ first: 0, count: 2, sha256: ['a', 'b'] }, { first: 2, count: 5 }, { first: 7, count: 1, sha256: ['c'] }, { first: 8, count: 2 }] };
  assert.equal(blocksToRead(list, 950, []), [{ start: 0, end: 200 }, { start: 700, end: 800 }]);
  // An extent from the data into the hole's first block, one inside block 4, one in the short last block (joining the data before it).
  assert.equal(blocksToRead(list, 950, [{ start: 0, end: 250 }, { start: 420, end: 430 }, { start: 880, end: 950 }]),
    [{ start: 0, end: 300 }, { start: 400, end: 500 }, { start: 700, end: 950 }]);
});

test.after(cleanup);
test.run();
