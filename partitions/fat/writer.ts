// Writes a planned volume through a ByteSink in one ascending pass: boot area, both FATs, the root
// directory, then directories and file data cluster by cluster. Only bytes that are not zero are
// written: free clusters, the unused FAT tail and slack after each directory or file stay holes.

import type { ByteSink } from '../sink.js';
import type { Bytes } from '../units.js';
import { bootSectorFromGeometry, encodeBootSector, encodeFsInfo } from './bootsector.js';
import { writeLfnEntries, writeShortEntry, type ShortEntry } from './direntry.js';
import { fatBytesFor, writeFatEntry } from './fattable.js';
import { clusterOffset, sectorOffset } from './geometry.js';
import type { FatPlan, PlannedDir } from './plan.js';
import { ATTR, BACKUP_BOOT_SECTOR, DIRENT_SIZE, FAT_EOC, FSINFO_SECTOR, FSINFO_UNKNOWN, MEDIA_FIXED_DISK, NO_NAME } from './spec.js';
import { encodeFatStamp, type FatStamp } from './timestamps.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const DOT = new Uint8Array([0x2e, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20]);
const DOTDOT = new Uint8Array([0x2e, 0x2e, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20]);

/** FAT bytes for entries 0 .. last used cluster: the reserved pair, then each run chained to its end. */
function encodeFat(plan: FatPlan): Uint8Array {
  const { type } = plan.geometry;
  const entries = plan.nextFreeCluster;
  const fat = new Uint8Array(fatBytesFor(type, entries));
  const eoc = FAT_EOC[type];
  // Entry 0 is the media byte with all other bits set; entry 1 is end-of-chain (also "cleanly unmounted").
  writeFatEntry(type, fat, 0, (eoc & ~0xff) | MEDIA_FIXED_DISK);
  writeFatEntry(type, fat, 1, eoc);
  // FAT16 and FAT32 entries as whole little-endian words where the host is little-endian: a
  // typed array's stores instead of a call per entry, which made a chain of 6000 clusters take
  // ~2.3 ms on a build's one pass, against ~0.5 ms with the typed array. The FAT is fresh, so a
  // FAT32 entry's reserved top bits are zero either way.
  let words: Uint16Array | Uint32Array | undefined;
  if (LITTLE_ENDIAN && type === 'fat16') words = new Uint16Array(fat.buffer, fat.byteOffset, fat.byteLength >> 1);
  else if (LITTLE_ENDIAN && type === 'fat32') words = new Uint32Array(fat.buffer, fat.byteOffset, fat.byteLength >> 2);
  const chain = (first: number, count: number): void => {
    if (count <= 0) return;
    const last = first + count - 1;
    if (words) {
      for (let c = first; c < last; c++) words[c] = c + 1;
      words[last] = eoc;
    } else {
      for (let c = first; c <= last; c++) writeFatEntry(type, fat, c, c === last ? eoc : c + 1);
    }
  };
  const walk = (dir: PlannedDir): void => {
    chain(dir.firstCluster, dir.clusters);
    for (const child of dir.children) {
      if (child.kind === 'dir') walk(child);
      else chain(child.firstCluster, child.clusters);
    }
  };
  walk(plan.root);
  return fat;
}

/** The used part of a directory's entry area; what follows stays zero, which also ends the directory. */
function encodeDirectory(dir: PlannedDir, parent: PlannedDir | undefined, plan: FatPlan, stamp: FatStamp): Uint8Array {
  const buf = new Uint8Array(dir.entryBytes);
  const base = (name: Uint8Array, attr: number, cluster: number, size: Bytes): ShortEntry => ({
    name, attr, cluster, size, created: stamp, accessDate: stamp.date, written: { ...stamp, tenths: 0 },
  });
  let at = 0;
  if (parent) {
    writeShortEntry(buf, at, base(DOT, ATTR.directory, dir.firstCluster, 0));
    // '..' of a child of the root points at cluster 0, even on FAT32 where the root has a cluster.
    writeShortEntry(buf, at + DIRENT_SIZE, base(DOTDOT, ATTR.directory, parent.path === '' ? 0 : parent.firstCluster, 0));
    at += 2 * DIRENT_SIZE;
  } else if (plan.label !== '') {
    writeShortEntry(buf, at, base(new TextEncoder().encode(plan.label), ATTR.volumeLabel, 0, 0));
    at += DIRENT_SIZE;
  }
  for (const child of dir.children) {
    if (child.lfn) at += writeLfnEntries(buf, at, child.name, child.short);
    const isDir = child.kind === 'dir';
    writeShortEntry(buf, at, base(child.short, isDir ? ATTR.directory : ATTR.archive, child.firstCluster, isDir ? 0 : child.size));
    at += DIRENT_SIZE;
  }
  return buf;
}

export async function writeFatVolume(plan: FatPlan, sink: ByteSink): Promise<void> {
  const g = plan.geometry;
  const boot = encodeBootSector(bootSectorFromGeometry(g, plan.label || NO_NAME, plan.serial));
  await sink.write(0, boot);
  if (g.type === 'fat32') {
    const next = plan.nextFreeCluster <= g.clusterCount + 1 ? plan.nextFreeCluster : FSINFO_UNKNOWN;
    const fsInfo = encodeFsInfo({ freeClusters: plan.freeClusters, nextFree: next }, g.sectorSize);
    await sink.write(sectorOffset(g, FSINFO_SECTOR), fsInfo);
    await sink.write(sectorOffset(g, BACKUP_BOOT_SECTOR), boot);
    await sink.write(sectorOffset(g, BACKUP_BOOT_SECTOR + FSINFO_SECTOR), fsInfo);
  }
  const fat = encodeFat(plan);
  for (let copy = 0; copy < g.fatCount; copy++) {
    await sink.write(sectorOffset(g, g.reservedSectors + copy * g.sectorsPerFat), fat);
  }

  const stamp = encodeFatStamp(plan.timestamp);
  const rootBytes = encodeDirectory(plan.root, undefined, plan, stamp);
  const rootAt = g.type === 'fat32'
    ? clusterOffset(g, plan.root.firstCluster)
    : sectorOffset(g, g.reservedSectors + g.fatCount * g.sectorsPerFat);
  if (rootBytes.length > 0) await sink.write(rootAt, rootBytes);

  // Depth-first in the same order the plan allocated, so offsets only ever increase.
  const walk = async (dir: PlannedDir): Promise<void> => {
    for (const child of dir.children) {
      if (child.kind === 'dir') {
        await sink.write(clusterOffset(g, child.firstCluster), encodeDirectory(child, dir, plan, stamp));
        await walk(child);
      } else if (child.size > 0) {
        const at = clusterOffset(g, child.firstCluster);
        if ('data' in child.source) await sink.write(at, child.source.data);
        else await sink.copyFile(at, child.source.path, child.size);
      }
    }
  };
  await walk(plan.root);
}
