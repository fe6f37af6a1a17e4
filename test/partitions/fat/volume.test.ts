// FatVolume (our reader; fatfs underneath edits) against volumes made by mkfs.fat + mcopy and by our
// writer: reading, editing with fsck.fat/mtools as judges, checkConsistency catching FAT copies made
// to differ, and file reads refusing broken cluster chains.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { open, truncate, writeFile, readFile } from 'node:fs/promises';
import { FatVolume, fileSectorDevice, planFatVolume, writeFatVolume, FatError, type FatType } from '../../../partitions/fat/index.js';
import type { SectorSize } from '../../../partitions/units.js';
import { scratch, mustRun } from '../../helpers/tools.js';
import { fileSink } from '../../helpers/fat-sink.js';
import { buildFixture, pseudoRandom } from '../../helpers/fat-fixtures.js';
import { fsckFat, mcopyAll } from '../../helpers/fat-oracles.js';

const MiB = 1024 * 1024;

/** mkfs.fat a volume and put files in with mcopy, the way other tools would. */
async function mkfsVolume(dir: string, type: FatType, ss: SectorSize, mib: number): Promise<{ img: string; files: Map<string, Buffer> }> {
  const img = join(dir, `mkfs-${type}-${ss}.img`);
  await writeFile(img, '');
  await truncate(img, mib * MiB);
  await mustRun('mkfs.fat', ['-F', type.slice(3), '-S', String(ss), '-n', 'THEIRS', '-i', 'CAFEF00D', img]);
  const files = new Map<string, Buffer>([
    ['hello.txt', Buffer.from('hello from mcopy\n')],
    ['A Long Name, With Spaces.dat', pseudoRandom(3 * 4096 + 17, 7)],
    ['sub/inner file.bin', pseudoRandom(20000, 8)],
  ]);
  await mustRun('mmd', ['-i', img, '::sub']);
  for (const [p, data] of files) {
    const host = join(dir, 'host.tmp');
    await writeFile(host, data);
    await mustRun('mcopy', ['-i', img, host, `::${p}`]);
  }
  return { img, files };
}

async function withVolume<T>(img: string, ss: SectorSize, readOnly: boolean, fn: (v: FatVolume) => Promise<T>): Promise<T> {
  const size = (await open(img, 'r').then(async (f) => { const st = await f.stat(); await f.close(); return st.size; }));
  const dev = await fileSectorDevice(img, 0, size, ss, !readOnly);
  try {
    const vol = await FatVolume.open(dev, { readOnly });
    try { return await fn(vol); } finally { await vol.close(); }
  } finally {
    await dev.close();
  }
}

const mkfsCases: [FatType, SectorSize, number][] = [['fat12', 512, 8], ['fat16', 512, 48], ['fat32', 512, 64], ['fat16', 4096, 64], ['fat32', 4096, 300]];

for (const [type, ss, mib] of mkfsCases) {
  test(`reads an mkfs.fat ${type} volume (${ss}-byte sectors) filled by mcopy`, async () => {
    const s = await scratch();
    try {
      const { img, files } = await mkfsVolume(s.dir, type, ss, mib);
      await withVolume(img, ss, true, async (v) => {
        const info = await v.info();
        assert.equal({ type: info.type, label: info.label, serial: info.serial, sectorSize: info.sectorSize }, { type, label: 'THEIRS', serial: 0xcafef00d, sectorSize: ss });
        const fsck = await fsckFat(img);
        assert.is(info.clusterCount - info.freeClusters, fsck.used, 'used clusters agree with fsck.fat');
        const walked = await v.walk();
        assert.equal(walked.map((w) => w.path), ['A Long Name, With Spaces.dat', 'hello.txt', 'sub', 'sub/inner file.bin']);
        for (const [p, data] of files) assert.ok((await v.readFile(p)).equals(data), `content of ${p}`);
        const sub = await v.readdir('sub');
        assert.is(sub[0]!.name, 'inner file.bin');
        assert.is(sub[0]!.size, 20000);
        assert.equal(await v.checkConsistency(), []);
      });
    } finally {
      await s.cleanup();
    }
  });
}

async function editAndJudge(img: string, ss: SectorSize, expected: Map<string, Buffer>): Promise<void> {
  const fresh = pseudoRandom(50000, 9);
  await withVolume(img, ss, false, async (v) => {
    await v.mkdir('added dir');
    await v.writeFile('added dir/New File+Name;1.txt', fresh);
    await v.writeFile('hello.txt', Buffer.from('replaced, and longer than before: ' + 'x'.repeat(5000)));
    await v.writeFile('now empty.txt', new Uint8Array(0));
    assert.ok((await v.readFile('added dir/New File+Name;1.txt')).equals(fresh));
  });
  expected.set('added dir/New File+Name;1.txt', fresh);
  expected.set('hello.txt', Buffer.from('replaced, and longer than before: ' + 'x'.repeat(5000)));
  expected.set('now empty.txt', Buffer.alloc(0));
  const fsck = await fsckFat(img);
  assert.is(fsck.exitCode, 0, fsck.all);
  assert.equal(fsck.problems, [], fsck.all);
  const out = await mcopyAll(img, `${img}.out`);
  for (const [p, want] of expected) assert.ok(out.files.get(p)?.equals(want), `mcopy reads back ${p}`);
  await withVolume(img, ss, true, async (v) => {
    assert.equal(await v.checkConsistency(), [], 'FAT copies identical and FSInfo right after close()');
  });
}

for (const [type, ss, mib] of [['fat12', 512, 8], ['fat16', 512, 48], ['fat32', 512, 64], ['fat32', 4096, 300]] as [FatType, SectorSize, number][]) {
  test(`edits an mkfs.fat ${type} volume (${ss}-byte sectors): fsck.fat stays clean`, async () => {
    const s = await scratch();
    try {
      const { img, files } = await mkfsVolume(s.dir, type, ss, mib);
      await editAndJudge(img, ss, files);
    } finally {
      await s.cleanup();
    }
  });
}

for (const [type, ss, mib] of [['fat16', 512, 48], ['fat32', 512, 64], ['fat16', 4096, 64]] as [FatType, SectorSize, number][]) {
  test(`edits one of our ${type} volumes (${ss}-byte sectors): fsck.fat stays clean`, async () => {
    const s = await scratch();
    try {
      const opts = { type, size: mib * MiB, sectorSize: ss, label: 'OURS', serial: 1, timestamp: 1700000000 };
      const fx = await buildFixture(join(s.dir, 'src'), planFatVolume(opts, new Map()).geometry.clusterSize);
      fx.tree.set('hello.txt', { kind: 'file', size: 3, source: { data: Buffer.from('hi\n') } });
      fx.files.set('hello.txt', Buffer.from('hi\n'));
      const img = join(s.dir, 'ours.img');
      const sink = await fileSink(img, mib * MiB);
      await writeFatVolume(planFatVolume(opts, fx.tree), sink);
      await sink.close();
      await editAndJudge(img, ss, fx.files);
    } finally {
      await s.cleanup();
    }
  });
}

test('checkConsistency reports FAT copies made to differ, and where', async () => {
  const s = await scratch();
  try {
    const { img } = await mkfsVolume(s.dir, 'fat16', 512, 48);
    const boot = Buffer.alloc(512);
    const fh = await open(img, 'r+');
    await fh.read(boot, 0, 512, 0);
    const reserved = boot.readUInt16LE(14);
    const perFat = boot.readUInt16LE(22);
    // Corrupt the second copy's entry for cluster 40 (byte 80 of the FAT).
    await fh.write(Buffer.from([0x77]), 0, 1, (reserved + perFat) * 512 + 80);
    await fh.close();
    const warnings = await withVolume(img, 512, true, (v) => v.checkConsistency());
    assert.is(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, /FAT copy 2 differs from FAT 1 at byte 80 .*cluster 40/);
    const fsck = await fsckFat(img);
    assert.ok(fsck.problems.some((l) => /differ/i.test(l)), `fsck.fat agrees: ${fsck.all}`);
  } finally {
    await s.cleanup();
  }
});

test('a read-only volume refuses edits; a BPB larger than the device is reported', async () => {
  const s = await scratch();
  try {
    const { img } = await mkfsVolume(s.dir, 'fat32', 512, 64);
    await withVolume(img, 512, true, async (v) => {
      await v.writeFile('x.txt', Buffer.from('x')).then(() => assert.unreachable('wrote to a read-only volume'), (e) => assert.instance(e, FatError));
    });
    const dev = await fileSectorDevice(img, 0, 32 * MiB, 512, false);
    try {
      const v = await FatVolume.open(dev, { readOnly: true });
      const w = await v.checkConsistency();
      assert.ok(w.some((x) => /BPB says 131072 sectors, the device has only 65536/.test(x)), w.join('\n'));
    } finally {
      await dev.close();
    }
    assert.ok((await readFile(img)).length === 64 * MiB);
  } finally {
    await s.cleanup();
  }
});

test('readFile refuses a cluster chain that loops, runs into a free cluster or is shorter than the file', async () => {
  const s = await scratch();
  try {
    const { img, files } = await mkfsVolume(s.dir, 'fat16', 512, 48);
    const name = 'A Long Name, With Spaces.dat';
    const { first, fatAt } = await withVolume(img, 512, true, async (v) => {
      assert.ok((await v.readFile(name)).equals(files.get(name)!), 'reads the file mcopy wrote');
      const boot = Buffer.alloc(512);
      const fh = await open(img, 'r');
      await fh.read(boot, 0, 512, 0);
      await fh.close();
      // The file's first cluster, from the root directory through our listing; FAT 1 follows the reserved sectors.
      const raw = (v as unknown as { raw: { lookup(p: string): Promise<{ entry: { entry: { cluster: number } } }> } }).raw;
      return { first: (await raw.lookup(name)).entry.entry.cluster, fatAt: boot.readUInt16LE(14) * 512 };
    });
    // 12305 bytes in 2 KiB clusters: a chain of 7; mcopy wrote it in consecutive clusters.
    const cases: [string, number, RegExp][] = [
      ['loop', first, /cluster chain from \d+ loops/],
      ['free', 0, /runs into a free cluster/],
      ['short', 0xffff, /is 12305 bytes, 7 clusters, but its cluster chain has 3/],
    ];
    for (const [what, link, expected] of cases) {
      const copy = join(s.dir, `${what}.img`);
      await writeFile(copy, await readFile(img));
      const fh = await open(copy, 'r+');
      const entry = Buffer.alloc(2);
      entry.writeUInt16LE(link);
      await fh.write(entry, 0, 2, fatAt + (first + 2) * 2); // the third cluster's link
      await fh.close();
      await withVolume(copy, 512, true, async (v) => {
        await v.readFile(name).then(() => assert.unreachable(`${what}: read a broken chain`), (e: Error) => {
          assert.instance(e, FatError, what);
          assert.match(e.message, expected, what);
        });
      });
    }
  } finally {
    await s.cleanup();
  }
});

test.run();
