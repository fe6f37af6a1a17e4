// Volumes we write, checked by the real tools: for FAT12/16/32 at 512- and 4096-byte sectors, fsck.fat -n
// must be clean, mcopy must read every file back byte-identical under its long name, mdir/minfo must
// show our label, serial and geometry, and our own reader must agree. Holes must stay holes.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import {
  planFatVolume, writeFatVolume, FatVolume, fileSectorDevice, type FatType, type PlannedDir, type FatPlan,
} from '../../../partitions/fat/index.js';
import type { SectorSize } from '../../../partitions/units.js';
import { scratch } from '../../helpers/tools.js';
import { fileSink, readRange } from '../../helpers/fat-sink.js';
import { buildFixture } from '../../helpers/fat-fixtures.js';
import { fsckFat, mcopyAll, mdirVolume, minfo, serialString } from '../../helpers/fat-oracles.js';
import { fatBytesFor } from '../../../partitions/fat/fattable.js';

const MiB = 1024 * 1024;
const matrix: [FatType, SectorSize, number][] = [
  ['fat12', 512, 8], ['fat12', 4096, 32],
  ['fat16', 512, 48], ['fat16', 4096, 64],
  ['fat32', 512, 64], ['fat32', 4096, 300],
];
const TIMESTAMP = Date.UTC(2024, 4, 17, 12, 34, 57) / 1000;

function metadataBytes(plan: FatPlan): number {
  const g = plan.geometry;
  let dirs = 0;
  const walk = (d: PlannedDir): void => { dirs += d.entryBytes; d.children.forEach((c) => c.kind === 'dir' && walk(c)); };
  walk(plan.root);
  return g.sectorSize * (g.type === 'fat32' ? 4 : 1) + g.fatCount * fatBytesFor(g.type, plan.nextFreeCluster) + dirs;
}

for (const [type, ss, mib] of matrix) {
  test(`${type} with ${ss}-byte sectors: fsck.fat clean, mtools and FatVolume read everything back`, async () => {
    const s = await scratch();
    try {
      const size = mib * MiB;
      const opts = { type, size, sectorSize: ss, label: 'Bank A', serial: 0x1a2b3c4d, timestamp: TIMESTAMP };
      // Size the fixture from the cluster size the plan will pick.
      const probe = planFatVolume(opts, new Map());
      const fx = await buildFixture(join(s.dir, 'src'), probe.geometry.clusterSize);
      const plan = planFatVolume(opts, fx.tree);
      assert.is(plan.geometry.type, type);
      const manyClusters = (() => {
        const many = plan.root.children.find((c) => c.name === 'many');
        return many?.clusters ?? 0;
      })();
      assert.ok(manyClusters >= 3, `'many' spans ${manyClusters} clusters`);

      const img = join(s.dir, 'vol.img');
      const sink = await fileSink(img, size);
      await writeFatVolume(plan, sink);
      await sink.close();
      assert.is(sink.bytesWritten, plan.contentBytes + metadataBytes(plan), 'only content and metadata were written, no zero runs');

      const fsck = await fsckFat(img);
      assert.is(fsck.exitCode, 0, fsck.all);
      assert.equal(fsck.problems, [], fsck.all);
      assert.is(fsck.used, plan.usedClusters, 'fsck used clusters');
      assert.is(fsck.total, plan.geometry.clusterCount, 'fsck total clusters');

      const out = await mcopyAll(img, join(s.dir, 'out'));
      assert.equal([...out.files.keys()].sort(), [...fx.files.keys()].sort(), 'file names read back by mcopy');
      for (const [p, want] of fx.files) assert.ok(out.files.get(p)?.equals(want), `content of ${p}`);
      assert.equal([...out.dirs].sort(), [...fx.dirs].sort(), 'directories read back by mcopy');

      const vol = await mdirVolume(img);
      assert.is(vol.label, 'BANK A', vol.all);
      assert.is(vol.serial, serialString(0x1a2b3c4d), vol.all);
      const mi = await minfo(img);
      assert.ok(mi || (type === 'fat16' && ss === 4096), 'minfo only fails where it fails for mkfs.fat too');
      if (mi) {
        assert.is(mi.sectorSize, ss, mi.all);
        assert.is(mi.sectorsPerCluster, plan.geometry.sectorsPerCluster, mi.all);
      }

      const dev = await fileSectorDevice(img, 0, size, ss, false);
      try {
        const fv = await FatVolume.open(dev, { readOnly: true });
        const info = await fv.info();
        assert.equal({ type: info.type, label: info.label, serial: info.serial, free: info.freeClusters },
          { type, label: 'BANK A', serial: 0x1a2b3c4d, free: plan.freeClusters });
        const walked = await fv.walk();
        assert.equal(walked.filter((w) => !w.isDir).map((w) => w.path).sort(), [...fx.files.keys()].sort());
        for (const [p, want] of fx.files) assert.ok((await fv.readFile(p)).equals(want), `FatVolume content of ${p}`);
        const root = await fv.readdir('');
        const exact = root.find((e) => e.name === 'EXACT.BIN')!;
        assert.is(exact.shortName, 'EXACT.BIN');
        assert.is(exact.mtime.getTime(), (TIMESTAMP - 1) * 1000, 'FAT keeps 2-second write times, in UTC');
        assert.is(root.find((e) => e.name === 'Ünïcode file name.txt')?.shortName, '_N_COD~1.TXT');
        assert.equal(await fv.checkConsistency(), []);
        await fv.close();
      } finally {
        await dev.close();
      }

      // The 8.3 name needs no LFN: the entry before EXACT.BIN's short entry is not a long-name entry.
      const g = plan.geometry;
      const rootAt = g.type === 'fat32' ? g.firstDataSector * ss : (g.reservedSectors + 2 * g.sectorsPerFat) * ss;
      const rootBytes = await readRange(img, rootAt, 64 * 32);
      const idx = [...Array(64).keys()].find((i) => rootBytes.subarray(i * 32, i * 32 + 11).toString('latin1') === 'EXACT   BIN');
      assert.ok(idx !== undefined && idx > 0);
      assert.is.not(rootBytes[(idx! - 1) * 32 + 11], 0x0f, 'no LFN entry before EXACT.BIN');
      assert.is(rootBytes[11], 0x08, 'the first root entry is the volume label');
      assert.is(rootBytes.subarray(0, 11).toString('latin1'), 'BANK A     ');
    } finally {
      await s.cleanup();
    }
  });
}

test.run();
