// The public vocabulary of the FAT writer and reader: what a caller hands in (a tree of files and the
// volume's options), what the layout computation hands back, and the one error type all of them throw.

import type { Bytes, Sectors, SectorSize } from '../units.js';
import { BankforgeError } from '../../support/errors.js';

export type FatType = 'fat12' | 'fat16' | 'fat32';

export type FatTreeEntry =
  | { kind: 'dir' }
  | { kind: 'file'; size: Bytes; source: { path: string } | { data: Uint8Array } };

/** Keys are '/'-separated paths relative to the volume root, e.g. 'EFI/BOOT/BOOTX64.EFI'; parent dirs are implied. */
export type FatTree = Map<string, FatTreeEntry>;

export interface FatFormatOptions {
  type: FatType;
  /** Whole volume size; a multiple of sectorSize. */
  size: Bytes;
  /** 512 or 4096: the FAT's bytes-per-sector equals the disk's sector size. */
  sectorSize: SectorSize;
  /** Up to 11 characters valid in a FAT short name (stored uppercased); '' = NO NAME. */
  label: string;
  /** u32 volume serial. */
  serial: number;
  /** Seconds since the Unix epoch, used for every date field (UTC). */
  timestamp: number;
  /** Override of the cluster size; default chosen like mkfs.fat 4.2 would. */
  clusterSize?: Bytes;
  /** BPB hidden sectors = partition start LBA (in sectors of sectorSize); default 0. */
  hiddenSectors?: Sectors;
}

/** Everything the writer gets wrong-footed by is reported with this; `field` names the offending input. */
export class FatError extends BankforgeError {
  constructor(message: string, field?: string) {
    super(message, undefined, field !== undefined ? { field } : undefined);
  }
}

export interface FatGeometry {
  type: FatType;
  sectorSize: SectorSize;
  /** Sectors the BPB claims; may be a few less than size/sectorSize (see docs/fat.md, track alignment). */
  totalSectors: Sectors;
  reservedSectors: Sectors;
  fatCount: 2;
  sectorsPerFat: Sectors;
  /** Fixed root directory slots; 0 for FAT32, whose root is a cluster chain. */
  rootEntries: number;
  rootDirSectors: Sectors;
  sectorsPerCluster: number;
  clusterSize: Bytes;
  /** Data clusters, numbered 2 .. clusterCount+1. */
  clusterCount: number;
  firstDataSector: Sectors;
  /** CHS fields nobody uses for LBA access, filled the way mkfs.fat does so mtools' sanity check holds. */
  sectorsPerTrack: number;
  heads: number;
  hiddenSectors: Sectors;
}
