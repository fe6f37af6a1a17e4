// The cluster-size rule against the real mkfs.fat (dosfstools 4.2): for a spread of sizes per type and
// sector size, our fatGeometry must produce the same layout that mkfs.fat writes into its boot sector.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { truncate, writeFile, open } from 'node:fs/promises';
import { fatGeometry, FatError, parseBootSector, type FatType, type FatGeometry } from '../../../partitions/fat/index.js';
import type { SectorSize } from '../../../partitions/units.js';
import { scratch, tool } from '../../helpers/tools.js';

const MiB = 1024 * 1024;
const cases: [FatType, SectorSize, number[]][] = [
  ['fat12', 512, [1, 2, 3, 4, 5, 8, 16, 32, 64, 100, 200]],
  ['fat16', 512, [9, 16, 33, 48, 100, 200, 300, 511, 1000, 2000, 4000]],
  ['fat32', 512, [34, 64, 100, 260, 261, 540, 1024, 8300, 17000, 33000]],
  ['fat12', 4096, [8, 16, 32, 64, 256]],
  ['fat16', 4096, [48, 64, 100, 256, 1000, 4000]],
  ['fat32', 4096, [260, 300, 540, 2048, 40000]],
];

async function mkfs(dir: string, type: FatType, ss: SectorSize, size: number, spc?: number) {
  const img = join(dir, `${type}-${ss}-${size}-${spc ?? 0}.img`);
  await writeFile(img, '');
  await truncate(img, size);
  const args = ['-F', type.slice(3), '-S', String(ss), '-i', '1234ABCD', ...(spc ? ['-s', String(spc)] : []), img];
  const r = await tool('mkfs.fat', args);
  if (r.exitCode !== 0) return { ok: false as const, out: r.all };
  const fh = await open(img, 'r');
  const boot = Buffer.alloc(ss);
  await fh.read(boot, 0, ss, 0);
  await fh.close();
  await truncate(img, 0);
  return { ok: true as const, layout: parseBootSector(boot) };
}

function sameLayout(what: string, ours: FatGeometry, theirs: ReturnType<typeof parseBootSector>): void {
  const pick = (g: { sectorsPerCluster: number; reservedSectors: number; rootEntries: number; sectorsPerFat: number; totalSectors: number; clusterCount: number; firstDataSector: number }) =>
    ({ spc: g.sectorsPerCluster, reserved: g.reservedSectors, rootEntries: g.rootEntries, sectorsPerFat: g.sectorsPerFat, total: g.totalSectors, clusters: g.clusterCount, firstData: g.firstDataSector });
  assert.equal(pick(ours), pick(theirs), what);
  assert.is(ours.type, theirs.type, `${what}: type`);
}

test('fatGeometry matches mkfs.fat 4.2 across sizes, types and sector sizes', async () => {
  const s = await scratch();
  try {
    let compared = 0;
    let extended = 0;
    for (const [type, ss, sizes] of cases) {
      for (const mib of sizes) {
        const size = mib * MiB;
        const what = `${type} ${mib} MiB ${ss}-byte sectors`;
        const theirs = await mkfs(s.dir, type, ss, size);
        let ours: FatGeometry | undefined;
        try { ours = fatGeometry({ type, size, sectorSize: ss, label: '', serial: 0, timestamp: 0 }); } catch (e) {
          if (!(e instanceof FatError)) throw e;
        }
        if (theirs.ok) {
          assert.ok(ours, `${what}: mkfs.fat made a volume, we threw`);
          sameLayout(what, ours!, theirs.layout);
          compared++;
        } else if (ours) {
          // mkfs.fat only grows clusters from its first guess; we also try smaller ones. The result must
          // be exactly what mkfs.fat makes when told that cluster size.
          const forced = await mkfs(s.dir, type, ss, size, ours.sectorsPerCluster);
          assert.ok(forced.ok, `${what}: we chose ${ours.sectorsPerCluster} sectors/cluster, mkfs.fat -s refuses it: ${forced.ok ? '' : forced.out}`);
          if (forced.ok) sameLayout(`${what} (-s ${ours.sectorsPerCluster})`, ours, forced.layout);
          extended++;
        }
      }
    }
    assert.ok(compared >= 40, `compared ${compared} sizes`);
    assert.ok(extended >= 1, 'at least one size where mkfs.fat needs an explicit cluster size');
  } finally {
    await s.cleanup();
  }
});

test('an explicit clusterSize gives the layout mkfs.fat -s gives', async () => {
  const s = await scratch();
  try {
    for (const [type, ss, mib, cs] of [['fat16', 512, 48, 8192], ['fat32', 512, 540, 512], ['fat12', 4096, 8, 4096]] as const) {
      const ours = fatGeometry({ type, size: mib * MiB, sectorSize: ss, label: '', serial: 0, timestamp: 0, clusterSize: cs });
      const theirs = await mkfs(s.dir, type, ss, mib * MiB, cs / ss);
      assert.ok(theirs.ok);
      if (theirs.ok) sameLayout(`${type} ${mib} MiB -s ${cs / ss}`, ours, theirs.layout);
    }
  } finally {
    await s.cleanup();
  }
});

test('sizes a type cannot hold are rejected with the reason', () => {
  const base = { label: '', serial: 0, timestamp: 0, sectorSize: 512 as const };
  assert.throws(() => fatGeometry({ ...base, type: 'fat32', size: 16 * MiB }), (e: unknown) => e instanceof FatError && /FAT32/.test(e.message) && /65525/.test(e.message));
  assert.throws(() => fatGeometry({ ...base, type: 'fat12', size: 1024 * MiB }), (e: unknown) => e instanceof FatError && /FAT12/.test(e.message) && /4084/.test(e.message));
  assert.throws(() => fatGeometry({ ...base, type: 'fat16', size: 1000 }), (e: unknown) => e instanceof FatError && /multiple of the 512-byte/.test(e.message));
  assert.throws(() => fatGeometry({ ...base, type: 'fat16', size: 48 * MiB, clusterSize: 3000 }), (e: unknown) => e instanceof FatError && e.field === 'clusterSize' && /3000/.test(e.message));
});

test.run();
