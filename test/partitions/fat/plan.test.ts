// Determinism and input validation of planFatVolume/writeFatVolume: the same tree gives the same bytes,
// and everything FAT cannot hold is refused with a FatError that names the path or value at fault.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { planFatVolume, writeFatVolume, FatError, type FatTree, type FatFormatOptions } from '../../../partitions/fat/index.js';
import { assignShortNames, shortNameToString, shortNameChecksum } from '../../../partitions/fat/names.js';
import { scratch } from '../../helpers/tools.js';
import { fileSink } from '../../helpers/fat-sink.js';
import { buildFixture } from '../../helpers/fat-fixtures.js';

const MiB = 1024 * 1024;
const opts: FatFormatOptions = { type: 'fat16', size: 48 * MiB, sectorSize: 512, label: 'DET', serial: 42, timestamp: 1700000000 };
const file = (text: string) => ({ kind: 'file' as const, size: Buffer.byteLength(text), source: { data: Buffer.from(text) } });

function rejects(tree: FatTree, pattern: RegExp, o: FatFormatOptions = opts): void {
  try {
    planFatVolume(o, tree);
  } catch (e) {
    assert.instance(e, FatError);
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected a FatError matching ${pattern}`);
}

test('the same tree gives identical bytes, whatever order the map lists it in', async () => {
  const s = await scratch();
  try {
    const fx = await buildFixture(join(s.dir, 'src'), 2048);
    const hashes: string[] = [];
    for (const tree of [fx.tree, new Map([...fx.tree].reverse())]) {
      const img = join(s.dir, `det-${hashes.length}.img`);
      const sink = await fileSink(img, opts.size);
      await writeFatVolume(planFatVolume(opts, tree), sink);
      await sink.close();
      hashes.push(createHash('sha256').update(await readFile(img)).digest('hex'));
    }
    assert.is(hashes[0], hashes[1]);
  } finally {
    await s.cleanup();
  }
});

test('short aliases: exact 8.3 names kept, others get deterministic ~N tails, checksum per fatgen103', () => {
  const got = assignShortNames(['README.TXT', 'readme.txt2', 'Long File Name.txt', 'LONGFI~1.TXT', 'Long File Name 2.txt', '.hidden', 'boot.cfg'])
    .map((r) => `${shortNameToString(r.short)}${r.needsLfn ? '+lfn' : ''}`);
  assert.equal(got, ['README.TXT', 'README~1.TXT+lfn', 'LONGFI~2.TXT+lfn', 'LONGFI~1.TXT', 'LONGFI~3.TXT+lfn', 'HIDDEN~1+lfn', 'BOOT.CFG+lfn']);
  assert.is(shortNameChecksum(Buffer.from('README  TXT', 'latin1')), 0x73);
});

test('rejects what FAT cannot hold, naming it', () => {
  rejects(new Map([['a:b.txt', file('x')]]), /'a:b\.txt'.*":"/);
  rejects(new Map([['dir/trailing.', file('x')]]), /'dir\/trailing\.'.*ends with/);
  rejects(new Map([['x'.repeat(256), file('x')]]), /256 UTF-16 units.*at most 255/);
  rejects(new Map([['Docs/Foo.txt', file('a')], ['docs/FOO.TXT', file('b')]]), /differ only by case/);
  rejects(new Map([['a//b', file('x')]]), /empty path component in 'a\/\/b'/);
  rejects(new Map([['big.iso', { kind: 'file', size: 4 * 1024 * MiB, source: { path: '/nonexistent' } }]]), /'big\.iso' is 4294967296 bytes.*at most 4294967295/);
  rejects(new Map([['f', { kind: 'file', size: 5, source: { data: Buffer.from('abc') } }]]), /'f': size says 5 bytes but the data has 3/);
  rejects(new Map([['huge.bin', { kind: 'file', size: 60 * MiB, source: { data: Buffer.alloc(60 * MiB) } }]]), /content does not fit: at 'huge\.bin'.*24519/);
  const crowded: FatTree = new Map();
  for (let i = 0; i < 300; i++) crowded.set(`file number ${i}.txt`, file(''));
  rejects(crowded, /root directory full: .* holds 512/);
  rejects(new Map(), /volume label 'bad.label'/, { ...opts, label: 'bad.label' });
  rejects(new Map(), /FAT32/, { ...opts, type: 'fat32', size: 16 * MiB });
  rejects(new Map(), /FAT12/, { ...opts, type: 'fat12', size: 1024 * MiB });
  rejects(new Map(), /FAT dates cover 1980\.\.2107/, { ...opts, timestamp: 0 });
});

test.run();
