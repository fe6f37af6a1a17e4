// The boot sector (BPB + extended boot record) and the FAT32 FSInfo sector: encoded from a geometry
// for the writer, parsed back for the reader, with the same field list both ways.

import type { Bytes, Sectors, SectorSize } from '../units.js';
import { isSectorSize } from '../units.js';
import {
  BACKUP_BOOT_SECTOR, BPB, BPB32, CLUSTER_LIMITS, DIRENT_SIZE, DRIVE_NUMBER_FIXED_DISK, EBR, EBR_START, EXTENDED_BOOT_SIGNATURE,
  FAT32_ROOT_CLUSTER, FSINFO, FSINFO_LEAD, FSINFO_SECTOR, FSINFO_STRUCT, FSINFO_TRAIL, FS_TYPE_STRING, MEDIA_FIXED_DISK,
  SIGNATURE, SIGNATURE_OFFSET,
} from './spec.js';
import { FatError, type FatGeometry, type FatType } from './types.js';

export interface BootSector {
  type: FatType;
  oemName: string;
  sectorSize: SectorSize;
  sectorsPerCluster: number;
  reservedSectors: Sectors;
  fatCount: number;
  rootEntries: number;
  totalSectors: Sectors;
  media: number;
  sectorsPerFat: Sectors;
  sectorsPerTrack: number;
  heads: number;
  hiddenSectors: Sectors;
  /** FAT32 only (0 otherwise). */
  rootCluster: number;
  fsInfoSector: Sectors;
  backupBootSector: Sectors;
  driveNumber: number;
  serial: number;
  /** 11 characters as stored, trailing spaces kept. */
  label: string;
}

/** Derived layout of a parsed boot sector. */
export interface VolumeLayout extends BootSector {
  rootDirSectors: Sectors;
  firstDataSector: Sectors;
  clusterCount: number;
  clusterSize: Bytes;
}

const OEM_NAME = 'BANKFRGE';
/** x86 code at the boot entry point: `int 18h` (tell the BIOS this disk is not bootable), then halt forever. */
const NOT_BOOTABLE_STUB = [0xcd, 0x18, 0xf4, 0xeb, 0xfd];

function putAscii(buf: Buffer, at: number, text: string, width: number): void {
  buf.write(text.padEnd(width, ' ').slice(0, width), at, width, 'latin1');
}

export function bootSectorFromGeometry(g: FatGeometry, label11: string, serial: number): BootSector {
  return {
    type: g.type,
    oemName: OEM_NAME,
    sectorSize: g.sectorSize,
    sectorsPerCluster: g.sectorsPerCluster,
    reservedSectors: g.reservedSectors,
    fatCount: g.fatCount,
    rootEntries: g.rootEntries,
    totalSectors: g.totalSectors,
    media: MEDIA_FIXED_DISK,
    sectorsPerFat: g.sectorsPerFat,
    sectorsPerTrack: g.sectorsPerTrack,
    heads: g.heads,
    hiddenSectors: g.hiddenSectors,
    rootCluster: g.type === 'fat32' ? FAT32_ROOT_CLUSTER : 0,
    fsInfoSector: g.type === 'fat32' ? FSINFO_SECTOR : 0,
    backupBootSector: g.type === 'fat32' ? BACKUP_BOOT_SECTOR : 0,
    driveNumber: DRIVE_NUMBER_FIXED_DISK,
    serial: serial >>> 0,
    label: label11,
  };
}

export function encodeBootSector(b: BootSector): Buffer {
  const buf = Buffer.alloc(b.sectorSize);
  const fat32 = b.type === 'fat32';
  const ebr = EBR_START[b.type];
  // Short jump over the BPB to the boot code, then NOP, as every FAT boot sector starts.
  buf[BPB.jumpBoot] = 0xeb;
  buf[BPB.jumpBoot + 1] = ebr + EBR.bootCode - 2;
  buf[BPB.jumpBoot + 2] = 0x90;
  putAscii(buf, BPB.oemName, b.oemName, 8);
  buf.writeUInt16LE(b.sectorSize, BPB.bytesPerSector);
  buf.writeUInt8(b.sectorsPerCluster, BPB.sectorsPerCluster);
  buf.writeUInt16LE(b.reservedSectors, BPB.reservedSectors);
  buf.writeUInt8(b.fatCount, BPB.fatCount);
  buf.writeUInt16LE(b.rootEntries, BPB.rootEntries);
  // The 16-bit count is used when it fits, as mkfs.fat does; FAT32 always uses the 32-bit field.
  const small = !fat32 && b.totalSectors < 0x10000;
  buf.writeUInt16LE(small ? b.totalSectors : 0, BPB.totalSectors16);
  buf.writeUInt8(b.media, BPB.media);
  buf.writeUInt16LE(fat32 ? 0 : b.sectorsPerFat, BPB.sectorsPerFat16);
  buf.writeUInt16LE(b.sectorsPerTrack, BPB.sectorsPerTrack);
  buf.writeUInt16LE(b.heads, BPB.heads);
  buf.writeUInt32LE(b.hiddenSectors, BPB.hiddenSectors);
  buf.writeUInt32LE(small ? 0 : b.totalSectors, BPB.totalSectors32);
  if (fat32) {
    buf.writeUInt32LE(b.sectorsPerFat, BPB32.sectorsPerFat32);
    buf.writeUInt16LE(0, BPB32.extFlags); // mirroring on: every FAT copy is live
    buf.writeUInt16LE(0, BPB32.fsVersion);
    buf.writeUInt32LE(b.rootCluster, BPB32.rootCluster);
    buf.writeUInt16LE(b.fsInfoSector, BPB32.fsInfoSector);
    buf.writeUInt16LE(b.backupBootSector, BPB32.backupBootSector);
  }
  buf.writeUInt8(b.driveNumber, ebr + EBR.driveNumber);
  buf.writeUInt8(EXTENDED_BOOT_SIGNATURE, ebr + EBR.bootSignature);
  buf.writeUInt32LE(b.serial >>> 0, ebr + EBR.serial);
  putAscii(buf, ebr + EBR.label, b.label, 11);
  putAscii(buf, ebr + EBR.fsType, FS_TYPE_STRING[b.type], 8);
  buf.set(NOT_BOOTABLE_STUB, ebr + EBR.bootCode);
  buf.writeUInt16LE(SIGNATURE, SIGNATURE_OFFSET);
  return buf;
}

function fail(what: string, expected: string, seen: string | number): never {
  throw new FatError(`not a FAT boot sector: ${what} should be ${expected}, is ${seen}`, what);
}

/** Parses and sanity-checks a boot sector; the FAT type follows from the cluster count, as the spec says. */
export function parseBootSector(buf: Buffer): VolumeLayout {
  if (buf.length < 512) fail('boot sector length', '>= 512', buf.length);
  const sig = buf.readUInt16LE(SIGNATURE_OFFSET);
  if (sig !== SIGNATURE) fail('signature at 510', '0xAA55', `0x${sig.toString(16)}`);
  const sectorSize = buf.readUInt16LE(BPB.bytesPerSector);
  if (!isSectorSize(sectorSize)) fail('bytes per sector', '512 or 4096', sectorSize);
  const spc = buf.readUInt8(BPB.sectorsPerCluster);
  if (spc === 0 || (spc & (spc - 1)) !== 0) fail('sectors per cluster', 'a power of two', spc);
  const reservedSectors = buf.readUInt16LE(BPB.reservedSectors);
  if (reservedSectors === 0) fail('reserved sectors', '>= 1', 0);
  const fatCount = buf.readUInt8(BPB.fatCount);
  if (fatCount === 0) fail('FAT count', '>= 1', 0);
  const rootEntries = buf.readUInt16LE(BPB.rootEntries);
  const totalSectors = buf.readUInt16LE(BPB.totalSectors16) || buf.readUInt32LE(BPB.totalSectors32);
  const fat16Length = buf.readUInt16LE(BPB.sectorsPerFat16);
  // A zero 16-bit FAT length is how Windows and Linux recognise FAT32, whatever the cluster count.
  const isFat32Bpb = fat16Length === 0;
  const sectorsPerFat = isFat32Bpb ? buf.readUInt32LE(BPB32.sectorsPerFat32) : fat16Length;
  if (sectorsPerFat === 0) fail('sectors per FAT', '>= 1', 0);
  const rootDirSectors = Math.ceil((rootEntries * DIRENT_SIZE) / sectorSize);
  const firstDataSector = reservedSectors + fatCount * sectorsPerFat + rootDirSectors;
  if (totalSectors <= firstDataSector) fail('total sectors', `> ${firstDataSector} (the metadata size)`, totalSectors);
  const clusterCount = Math.floor((totalSectors - firstDataSector) / spc);
  const type: FatType = isFat32Bpb ? 'fat32' : clusterCount <= CLUSTER_LIMITS.fat12.max ? 'fat12' : 'fat16';
  const ebr = EBR_START[type];
  const hasEbr = buf.readUInt8(ebr + EBR.bootSignature) === EXTENDED_BOOT_SIGNATURE;
  return {
    type,
    oemName: buf.toString('latin1', BPB.oemName, BPB.oemName + 8),
    sectorSize,
    sectorsPerCluster: spc,
    reservedSectors,
    fatCount,
    rootEntries,
    totalSectors,
    media: buf.readUInt8(BPB.media),
    sectorsPerFat,
    sectorsPerTrack: buf.readUInt16LE(BPB.sectorsPerTrack),
    heads: buf.readUInt16LE(BPB.heads),
    hiddenSectors: buf.readUInt32LE(BPB.hiddenSectors),
    rootCluster: isFat32Bpb ? buf.readUInt32LE(BPB32.rootCluster) : 0,
    fsInfoSector: isFat32Bpb ? buf.readUInt16LE(BPB32.fsInfoSector) : 0,
    backupBootSector: isFat32Bpb ? buf.readUInt16LE(BPB32.backupBootSector) : 0,
    driveNumber: buf.readUInt8(ebr + EBR.driveNumber),
    serial: hasEbr ? buf.readUInt32LE(ebr + EBR.serial) : 0,
    label: hasEbr ? buf.toString('latin1', ebr + EBR.label, ebr + EBR.label + 11) : '',
    rootDirSectors,
    firstDataSector,
    clusterCount,
    clusterSize: spc * sectorSize,
  };
}

export interface FsInfo { freeClusters: number; nextFree: number }

export function encodeFsInfo(info: FsInfo, sectorSize: SectorSize): Buffer {
  const buf = Buffer.alloc(sectorSize);
  buf.writeUInt32LE(FSINFO_LEAD, FSINFO.leadSignature);
  buf.writeUInt32LE(FSINFO_STRUCT, FSINFO.structSignature);
  buf.writeUInt32LE(info.freeClusters >>> 0, FSINFO.freeCount);
  buf.writeUInt32LE(info.nextFree >>> 0, FSINFO.nextFree);
  buf.writeUInt32LE(FSINFO_TRAIL, FSINFO.trailSignature);
  return buf;
}

/** Undefined when the sector does not carry the three FSInfo signatures. */
export function parseFsInfo(buf: Buffer): FsInfo | undefined {
  if (buf.readUInt32LE(FSINFO.leadSignature) !== FSINFO_LEAD || buf.readUInt32LE(FSINFO.structSignature) !== FSINFO_STRUCT ||
    buf.readUInt32LE(FSINFO.trailSignature) !== FSINFO_TRAIL) return undefined;
  return { freeClusters: buf.readUInt32LE(FSINFO.freeCount), nextFree: buf.readUInt32LE(FSINFO.nextFree) };
}
