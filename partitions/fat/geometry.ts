// Volume layout: how many reserved sectors, how long each FAT is, how big a cluster is, where the data
// starts. The rules are dosfstools 4.2's (mkfs.fat on Debian 12), re-derived so that a volume we write has
// the same geometry as `mkfs.fat -F <type> -S <sectorSize>` on the same size; test/partitions/fat proves it.

import type { Bytes, Sectors, SectorSize } from '../units.js';
import { isSectorSize } from '../units.js';
import { CLUSTER_LIMITS, DIRENT_SIZE } from './spec.js';
import { FatError, type FatFormatOptions, type FatGeometry, type FatType } from './types.js';

const FAT_COUNT = 2;
const MAX_SECTORS_PER_CLUSTER = 128;
/** mkfs.fat stops aligning structures to clusters on volumes this small (floppy-sized). */
const NO_ALIGN_MAX_SECTORS = 8192;
/** FAT12/16 hard-disk default of mkfs.fat; rounded up to whole clusters when aligning. */
const DEFAULT_ROOT_ENTRIES = 512;
const MAX_TOTAL_SECTORS = 0xffffffff;

/**
 * CHS geometry mkfs.fat invents for a disk without one: the SD-card recommendation below 256 MiB (in
 * 512-byte sectors), LBA-assist translation above. Only its sectors-per-track matters: mkfs.fat trims the
 * volume to a whole number of tracks, and mtools refuses volumes that are not.
 */
function chsGeometry(sectors: Sectors): { heads: number; sectorsPerTrack: number } {
  if (sectors <= 524288) {
    const heads = sectors <= 32768 ? 2 : sectors <= 65536 ? 4 : sectors <= 262144 ? 8 : 16;
    return { heads, sectorsPerTrack: sectors <= 4096 ? 16 : 32 };
  }
  const track = 63 * 1024;
  const heads = sectors <= 16 * track ? 16 : sectors <= 32 * track ? 32 : sectors <= 64 * track ? 64 : sectors <= 128 * track ? 128 : 255;
  return { heads, sectorsPerTrack: 63 };
}

/** mkfs.fat's first guess: 4 sectors for FAT12/16 (then doubled until the FAT fits); for FAT32 the
 *  Microsoft table of fatgen103, applied to the sector count as if sectors were 512 bytes. */
function initialSectorsPerCluster(type: FatType, sectors: Sectors): number {
  if (type !== 'fat32') return 4;
  const MiB512 = 2048;
  return sectors > 32 * 1024 * MiB512 ? 64 : sectors > 16 * 1024 * MiB512 ? 32 : sectors > 8 * 1024 * MiB512 ? 16 : sectors > 260 * MiB512 ? 8 : 1;
}

interface Trial { sectorsPerFat: Sectors; clusterCount: number }

/**
 * One mkfs.fat sizing step for a given cluster size: estimate the cluster count from the space left after
 * the reserved area (and the FAT12/16 root directory), size the FAT for it, then recount the clusters that
 * really fit beside that FAT. Returns undefined when the count is outside the type's limits.
 */
function trial(type: FatType, dataAndFats: Sectors, spc: number, sectorSize: SectorSize, align: (n: number) => number): Trial | undefined {
  if (dataAndFats <= 0) return undefined;
  let estimate: number;
  let fatBytes: (clusters: number) => number;
  let entriesPerFat: (sectorsPerFat: Sectors) => number;
  if (type === 'fat12') {
    estimate = Math.floor((2 * (dataAndFats * sectorSize + FAT_COUNT * 3)) / (2 * spc * sectorSize + FAT_COUNT * 3));
    fatBytes = (c) => Math.floor(((c + 2) * 3 + 1) / 2);
    entriesPerFat = (s) => Math.floor((s * 2 * sectorSize) / 3);
  } else {
    const width = type === 'fat16' ? 2 : 4;
    estimate = Math.floor((dataAndFats * sectorSize + FAT_COUNT * 2 * width) / (spc * sectorSize + FAT_COUNT * width));
    fatBytes = (c) => (c + 2) * width;
    entriesPerFat = (s) => Math.floor((s * sectorSize) / width);
  }
  const sectorsPerFat = align(Math.ceil(fatBytes(estimate) / sectorSize));
  const clusterCount = Math.floor((dataAndFats - FAT_COUNT * sectorsPerFat) / spc);
  const limits = CLUSTER_LIMITS[type];
  const max = Math.min(entriesPerFat(sectorsPerFat), limits.max);
  if (clusterCount < limits.min || clusterCount > max) return undefined;
  return { sectorsPerFat, clusterCount };
}

function describe(n: Bytes): string {
  return n >= 1024 * 1024 ? `${n} bytes (${(n / 1048576).toFixed(2)} MiB)` : `${n} bytes`;
}

export function fatGeometry(opts: FatFormatOptions): FatGeometry {
  const { type, size } = opts;
  const sectorSize = opts.sectorSize;
  if (type !== 'fat12' && type !== 'fat16' && type !== 'fat32') throw new FatError(`FAT type must be fat12, fat16 or fat32, got ${String(type)}`, 'type');
  if (!isSectorSize(sectorSize)) throw new FatError(`sector size must be 512 or 4096, got ${String(sectorSize)}`, 'sectorSize');
  if (!Number.isSafeInteger(size) || size <= 0 || size % sectorSize !== 0) {
    throw new FatError(`volume size must be a positive multiple of the ${sectorSize}-byte sector size, got ${size}`, 'size');
  }
  const hiddenSectors = opts.hiddenSectors ?? 0;
  if (!Number.isInteger(hiddenSectors) || hiddenSectors < 0 || hiddenSectors > 0xffffffff) {
    throw new FatError(`hidden sectors must be a u32, got ${hiddenSectors}`, 'hiddenSectors');
  }
  const deviceSectors = size / sectorSize;
  if (deviceSectors > MAX_TOTAL_SECTORS) {
    throw new FatError(`volume too big for FAT: ${deviceSectors} sectors of ${sectorSize} bytes, at most ${MAX_TOTAL_SECTORS}`, 'size');
  }
  const { heads, sectorsPerTrack } = chsGeometry(deviceSectors);
  const totalSectors = Math.floor(deviceSectors / sectorsPerTrack) * sectorsPerTrack;
  const aligned = totalSectors > NO_ALIGN_MAX_SECTORS;

  let candidates: number[];
  if (opts.clusterSize !== undefined) {
    const spc = opts.clusterSize / sectorSize;
    if (!Number.isInteger(spc) || spc < 1 || spc > MAX_SECTORS_PER_CLUSTER || (spc & (spc - 1)) !== 0) {
      throw new FatError(
        `cluster size must be a power-of-two multiple of the ${sectorSize}-byte sector, at most ${MAX_SECTORS_PER_CLUSTER} sectors; got ${opts.clusterSize}`,
        'clusterSize',
      );
    }
    candidates = [spc];
  } else {
    // mkfs.fat only grows the cluster from its first guess; where that finds nothing (e.g. FAT16 on a
    // small 4Kn volume) we also try smaller clusters before giving up, largest first.
    const first = initialSectorsPerCluster(type, deviceSectors);
    candidates = [];
    for (let spc = first; spc <= MAX_SECTORS_PER_CLUSTER; spc *= 2) candidates.push(spc);
    for (let spc = first / 2; spc >= 1; spc /= 2) candidates.push(spc);
  }

  const reservedBase = type === 'fat32' ? 32 : 1;
  const rootDirSectorsBase = type === 'fat32' ? 0 : Math.ceil((DEFAULT_ROOT_ENTRIES * DIRENT_SIZE) / sectorSize);
  for (const spc of candidates) {
    const align = (n: number): number => (aligned ? Math.ceil(n / spc) * spc : n);
    const reservedSectors = align(reservedBase);
    const rootDirSectors = align(rootDirSectorsBase);
    const found = trial(type, totalSectors - reservedSectors - rootDirSectors, spc, sectorSize, align);
    if (!found) continue;
    return {
      type,
      sectorSize,
      totalSectors,
      reservedSectors,
      fatCount: FAT_COUNT,
      sectorsPerFat: found.sectorsPerFat,
      rootEntries: aligned ? (rootDirSectors * sectorSize) / DIRENT_SIZE : type === 'fat32' ? 0 : DEFAULT_ROOT_ENTRIES,
      rootDirSectors,
      sectorsPerCluster: spc,
      clusterSize: spc * sectorSize,
      clusterCount: found.clusterCount,
      firstDataSector: reservedSectors + FAT_COUNT * found.sectorsPerFat + rootDirSectors,
      sectorsPerTrack,
      heads,
      hiddenSectors,
    };
  }
  const limits = CLUSTER_LIMITS[type];
  const tried = candidates.map((c) => c * sectorSize).join(', ');
  throw new FatError(
    `${describe(size)} with ${sectorSize}-byte sectors cannot hold a ${type.toUpperCase()} volume: it needs ${limits.min}..${limits.max} clusters, ` +
      `and no cluster size tried (${tried} bytes) gives a count in that range` +
      (type === 'fat32' ? ' (FAT32 is too big a format for this size; use fat16 or fat12)' : type === 'fat12' ? ' (too big for FAT12; use fat16 or fat32)' : ''),
    'size',
  );
}

/** Byte offset of a sector of the volume. */
export function sectorOffset(g: { sectorSize: SectorSize }, sector: Sectors): Bytes {
  return sector * g.sectorSize;
}

/** Byte offset of a data cluster (clusters are numbered from 2). */
export function clusterOffset(g: { sectorSize: SectorSize; firstDataSector: Sectors; sectorsPerCluster: number }, cluster: number): Bytes {
  return (g.firstDataSector + (cluster - 2) * g.sectorsPerCluster) * g.sectorSize;
}
