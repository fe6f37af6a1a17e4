// GUID Partition Table (UEFI spec 2.10, chapter 5.3): header and entry array, written as a
// primary copy after the protective MBR and a backup copy at the end of the disk, and read
// back with both copies checked so that a damaged one is reported and the other one used.

import { crc32 } from './crc32.js';
import { guidFromBytes, guidToBytes } from './guid.js';
import { parseMbr, writeProtectiveMbr, MBR } from './mbr.js';
import type { ByteSource } from './sink.js';
import type { Bytes, Lba, SectorSize, Sectors } from './units.js';
import { BankforgeError } from '../support/errors.js';

export const GPT = {
  signature: 'EFI PART',
  revision: 0x00010000,
  headerSize: 92,
  entryCount: 128,
  entrySize: 128,
  nameUnits: 36,
} as const;

/** Header field offsets (UEFI spec table 5-5). */
const H = {
  signature: 0, revision: 8, headerSize: 12, headerCrc: 16, reserved: 20, myLba: 24,
  alternateLba: 32, firstUsableLba: 40, lastUsableLba: 48, diskGuid: 56, entriesLba: 72,
  entryCount: 80, entrySize: 84, entriesCrc: 88,
} as const;

/** Entry field offsets (UEFI spec table 5-6). */
const E = { typeGuid: 0, guid: 16, firstLba: 32, lastLba: 40, attributes: 48, name: 56 } as const;

export interface GptPartition {
  /** Index in the entry array (0-based; sgdisk calls it partition number index+1). */
  index: number;
  typeGuid: string;
  guid: string;
  firstLba: Lba;
  /** Inclusive, as on disk. */
  lastLba: Lba;
  attributes: bigint;
  name: string;
}

export interface GptDisk {
  sectorSize: SectorSize;
  /** Sectors on the disk; the backup header lives in the last one. */
  sectorCount: Sectors;
  diskGuid: string;
  partitions: GptPartition[];
}

/** Sectors taken by one entry array. */
export function entryArraySectors(sectorSize: SectorSize): Sectors {
  return Math.ceil((GPT.entryCount * GPT.entrySize) / sectorSize);
}

/** The LBA range partitions may use on a disk of `sectorCount` sectors. */
export function usableRange(sectorSize: SectorSize, sectorCount: Sectors): { first: Lba; last: Lba } {
  const arr = entryArraySectors(sectorSize);
  return { first: 2 + arr, last: sectorCount - 2 - arr };
}

export interface Extent { offset: Bytes; data: Buffer }

function encodeEntries(disk: GptDisk): Buffer {
  const buf = Buffer.alloc(GPT.entryCount * GPT.entrySize);
  for (const p of disk.partitions) {
    if (p.index < 0 || p.index >= GPT.entryCount) throw new Error(`GPT entry index ${p.index} outside 0..${GPT.entryCount - 1}`);
    const o = p.index * GPT.entrySize;
    guidToBytes(p.typeGuid).copy(buf, o + E.typeGuid);
    guidToBytes(p.guid).copy(buf, o + E.guid);
    buf.writeBigUInt64LE(BigInt(p.firstLba), o + E.firstLba);
    buf.writeBigUInt64LE(BigInt(p.lastLba), o + E.lastLba);
    buf.writeBigUInt64LE(p.attributes, o + E.attributes);
    const name = Buffer.from(p.name, 'utf16le');
    if (name.length > GPT.nameUnits * 2) throw new Error(`GPT name "${p.name}" is ${name.length / 2} UTF-16 units; at most ${GPT.nameUnits}`);
    name.copy(buf, o + E.name);
  }
  return buf;
}

function encodeHeader(disk: GptDisk, myLba: Lba, alternateLba: Lba, entriesLba: Lba, entriesCrc: number): Buffer {
  const h = Buffer.alloc(disk.sectorSize);
  const { first, last } = usableRange(disk.sectorSize, disk.sectorCount);
  h.write(GPT.signature, H.signature, 'latin1');
  h.writeUInt32LE(GPT.revision, H.revision);
  h.writeUInt32LE(GPT.headerSize, H.headerSize);
  h.writeBigUInt64LE(BigInt(myLba), H.myLba);
  h.writeBigUInt64LE(BigInt(alternateLba), H.alternateLba);
  h.writeBigUInt64LE(BigInt(first), H.firstUsableLba);
  h.writeBigUInt64LE(BigInt(last), H.lastUsableLba);
  guidToBytes(disk.diskGuid).copy(h, H.diskGuid);
  h.writeBigUInt64LE(BigInt(entriesLba), H.entriesLba);
  h.writeUInt32LE(GPT.entryCount, H.entryCount);
  h.writeUInt32LE(GPT.entrySize, H.entrySize);
  h.writeUInt32LE(entriesCrc, H.entriesCrc);
  h.writeUInt32LE(crc32(h.subarray(0, GPT.headerSize)), H.headerCrc);
  return h;
}

/**
 * The sectors a GPT disk needs: protective MBR, primary header and entries, backup entries and
 * backup header. Everything else on the disk is the partitions' business.
 */
export function writeGpt(disk: GptDisk): Extent[] {
  const ss = disk.sectorSize;
  const arr = entryArraySectors(ss);
  const lastLba = disk.sectorCount - 1;
  const entries = encodeEntries(disk);
  const entriesCrc = crc32(entries);
  const mbr = Buffer.alloc(ss);
  writeProtectiveMbr(disk.sectorCount).copy(mbr);
  return [
    { offset: 0, data: mbr },
    { offset: 1 * ss, data: encodeHeader(disk, 1, lastLba, 2, entriesCrc) },
    { offset: 2 * ss, data: entries },
    { offset: (lastLba - arr) * ss, data: entries },
    { offset: lastLba * ss, data: encodeHeader(disk, lastLba, 1, lastLba - arr, entriesCrc) },
  ];
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface GptHeader {
  myLba: Lba;
  alternateLba: Lba;
  firstUsableLba: Lba;
  lastUsableLba: Lba;
  diskGuid: string;
  entriesLba: Lba;
  entryCount: number;
  entrySize: number;
  entriesCrc: number;
}

export interface GptReadResult extends GptDisk {
  /** Which copy the partitions were read from. */
  source: 'primary' | 'backup';
  primary: GptHeader | undefined;
  backup: GptHeader | undefined;
  /** Everything inconsistent that was found, each naming the byte offset or field. */
  warnings: string[];
}

/** The table cannot be read: the image is bad input. */
export class GptError extends BankforgeError {}

function parseHeader(sector: Buffer, expectLba: Lba, ss: SectorSize, where: string): GptHeader | string {
  const at = `${where} GPT header at byte ${expectLba * ss}`;
  const sig = sector.toString('latin1', H.signature, H.signature + 8);
  if (sig !== GPT.signature) {
    const seen = /^[\x20-\x7e]{8}$/.test(sig) ? JSON.stringify(sig) : `bytes ${sector.subarray(0, 8).toString('hex')}`;
    return `${at}: signature is ${seen}, expected "${GPT.signature}"`;
  }
  const size = sector.readUInt32LE(H.headerSize);
  if (size < GPT.headerSize || size > ss) return `${at}: header size ${size}, expected ${GPT.headerSize}..${ss}`;
  const copy = Buffer.from(sector.subarray(0, size));
  const stored = copy.readUInt32LE(H.headerCrc);
  copy.writeUInt32LE(0, H.headerCrc);
  const crc = crc32(copy);
  if (crc !== stored) return `${at}: header CRC32 is 0x${stored.toString(16)}, computed 0x${crc.toString(16)}`;
  const h: GptHeader = {
    myLba: Number(sector.readBigUInt64LE(H.myLba)),
    alternateLba: Number(sector.readBigUInt64LE(H.alternateLba)),
    firstUsableLba: Number(sector.readBigUInt64LE(H.firstUsableLba)),
    lastUsableLba: Number(sector.readBigUInt64LE(H.lastUsableLba)),
    diskGuid: guidFromBytes(sector, H.diskGuid),
    entriesLba: Number(sector.readBigUInt64LE(H.entriesLba)),
    entryCount: sector.readUInt32LE(H.entryCount),
    entrySize: sector.readUInt32LE(H.entrySize),
    entriesCrc: sector.readUInt32LE(H.entriesCrc),
  };
  if (h.myLba !== expectLba) return `${at}: MyLBA is ${h.myLba}, expected ${expectLba}`;
  if (h.entrySize < 128 || h.entrySize % 8 !== 0 || h.entrySize * h.entryCount > 16 * 1024 * 1024) {
    return `${at}: entry array of ${h.entryCount} entries of ${h.entrySize} bytes is not valid`;
  }
  return h;
}

async function readEntries(src: ByteSource, h: GptHeader, ss: SectorSize, where: string): Promise<GptPartition[] | string> {
  const offset = h.entriesLba * ss;
  const length = h.entryCount * h.entrySize;
  if (offset + length > src.size) return `${where} GPT entry array at byte ${offset} runs past the end of the disk (${src.size} bytes)`;
  const buf = await src.read(offset, length);
  const crc = crc32(buf);
  if (crc !== h.entriesCrc) {
    return `${where} GPT entry array at byte ${offset}: CRC32 is 0x${crc.toString(16)}, header says 0x${h.entriesCrc.toString(16)}`;
  }
  const parts: GptPartition[] = [];
  for (let i = 0; i < h.entryCount; i++) {
    const o = i * h.entrySize;
    // An unused entry has the zero type GUID; most of the array is unused.
    if (allZero(buf, o + E.typeGuid, 16)) continue;
    const typeGuid = guidFromBytes(buf, o + E.typeGuid);
    const rawName = buf.subarray(o + E.name, o + E.name + GPT.nameUnits * 2).toString('utf16le');
    const nul = rawName.indexOf('\0');
    parts.push({
      index: i,
      typeGuid,
      guid: guidFromBytes(buf, o + E.guid),
      firstLba: Number(buf.readBigUInt64LE(o + E.firstLba)),
      lastLba: Number(buf.readBigUInt64LE(o + E.lastLba)),
      attributes: buf.readBigUInt64LE(o + E.attributes),
      name: nul < 0 ? rawName : rawName.slice(0, nul),
    });
  }
  return parts;
}

/** The sector size of a GPT disk: where "EFI PART" is found at LBA 1. */
export async function detectSectorSize(src: ByteSource): Promise<SectorSize | undefined> {
  for (const ss of [512, 4096] as const) {
    if (src.size < 2 * ss) continue;
    const sig = (await src.read(ss, 8)).toString('latin1');
    if (sig === GPT.signature) return ss;
  }
  return undefined;
}

/**
 * Read a GPT, checking both copies. With one copy damaged the other is used and a warning says
 * which and why; with both damaged it throws GptError naming what is wrong with each.
 * `sectorSize` is detected from the primary header when not given; when the primary header is
 * gone, give it (the default 512 is what most disks use).
 * `primaryOnly`: a valid primary copy is used without reading the backup (`backup` is then
 * undefined and nothing is said of it), for a reader that wants the partitions, not the table's
 * health (`status`, which a script may run every few seconds); a damaged primary still sends it
 * to the backup.
 */
export async function readGpt(src: ByteSource, sectorSize?: SectorSize, opts: { primaryOnly?: boolean } = {}): Promise<GptReadResult> {
  const ss = sectorSize ?? (await detectSectorSize(src)) ?? 512;
  // The protective MBR, a header and at least one sector of entries: anything smaller holds no GPT
  // (and an empty file would otherwise look for its backup header at byte -512).
  if (src.size < 3 * ss) throw new GptError(`${src.size} bytes is too small for a GPT disk (at least ${3 * ss} bytes with ${ss}-byte sectors)`);
  if (src.size % ss !== 0) throw new GptError(`disk size ${src.size} is not a multiple of the ${ss}-byte sector size`);
  const sectorCount = src.size / ss;
  const lastLba = sectorCount - 1;
  const warnings: string[] = [];

  const mbr = parseMbr(await src.read(0, MBR.size));
  if (!mbr) warnings.push(`protective MBR at byte 0: no 0x55AA signature at byte ${MBR.signatureOffset}`);
  else if (!mbr.some((p) => p.type === MBR.protectiveType)) warnings.push('protective MBR at byte 0: no partition of type 0xEE (a hybrid or plain MBR?)');

  const primaryHeader = parseHeader(await src.read(1 * ss, ss), 1, ss, 'primary');
  let primary: GptHeader | undefined;
  let primaryParts: GptPartition[] | undefined;
  if (typeof primaryHeader === 'string') warnings.push(primaryHeader);
  else {
    const e = await readEntries(src, primaryHeader, ss, 'primary');
    if (typeof e === 'string') warnings.push(e);
    else { primary = primaryHeader; primaryParts = e; }
  }

  if (primary && opts.primaryOnly) {
    warnings.push(...checkPartitions(primaryParts!, primary, sectorCount, ss));
    return { sectorSize: ss, sectorCount, diskGuid: primary.diskGuid, partitions: primaryParts!, source: 'primary', primary, backup: undefined, warnings };
  }

  // The backup header should be in the last sector; when the primary names another place
  // (say, an image written to a larger stick), look there too.
  const backupLbas = [lastLba];
  if (typeof primaryHeader !== 'string' && primaryHeader.alternateLba !== lastLba && primaryHeader.alternateLba < sectorCount) {
    backupLbas.unshift(primaryHeader.alternateLba);
  }
  let backup: GptHeader | undefined;
  let backupParts: GptPartition[] | undefined;
  let backupProblem = '';
  for (const lba of backupLbas) {
    const h = parseHeader(await src.read(lba * ss, ss), lba, ss, 'backup');
    if (typeof h === 'string') { backupProblem ||= h; continue; }
    const e = await readEntries(src, h, ss, 'backup');
    if (typeof e === 'string') { backupProblem ||= e; continue; }
    backup = h; backupParts = e;
    if (lba !== lastLba) warnings.push(`backup GPT header is at LBA ${lba}, not at the disk's last LBA ${lastLba} (the disk is larger than the image; sgdisk -e moves it)`);
    break;
  }
  if (!backup) warnings.push(backupProblem || 'backup GPT: missing');

  if (!primary && !backup) throw new GptError(`no valid GPT: ${warnings.join('; ')}`);
  if (primary && !backup) warnings.push('using the primary GPT; the backup copy is damaged or missing');
  if (!primary && backup) warnings.push('using the backup GPT; the primary copy is damaged');

  const use = (primary ?? backup)!;
  const parts = (primaryParts ?? backupParts)!;
  if (primary && backup) {
    if (primary.diskGuid !== backup.diskGuid) warnings.push(`disk GUID differs: primary ${primary.diskGuid}, backup ${backup.diskGuid}`);
    if (primary.entriesCrc !== backup.entriesCrc) warnings.push('primary and backup GPT entry arrays differ; using the primary');
    if (primary.alternateLba !== backup.myLba) warnings.push(`primary header names the backup at LBA ${primary.alternateLba}, found it at LBA ${backup.myLba}`);
  }
  warnings.push(...checkPartitions(parts, use, sectorCount, ss));
  return { sectorSize: ss, sectorCount, diskGuid: use.diskGuid, partitions: parts, source: primary ? 'primary' : 'backup', primary, backup, warnings };
}

function checkPartitions(parts: GptPartition[], h: GptHeader, sectorCount: Sectors, ss: SectorSize): string[] {
  const out: string[] = [];
  for (const p of parts) {
    const what = `partition ${p.index + 1} (${p.name || 'unnamed'})`;
    if (p.lastLba < p.firstLba) out.push(`${what}: last LBA ${p.lastLba} is before first LBA ${p.firstLba}`);
    if (p.lastLba >= sectorCount) out.push(`${what}: ends at byte ${(p.lastLba + 1) * ss}, past the end of the disk (${sectorCount * ss} bytes)`);
    else if (p.firstLba < h.firstUsableLba || p.lastLba > h.lastUsableLba) {
      out.push(`${what}: LBAs ${p.firstLba}..${p.lastLba} are outside the usable range ${h.firstUsableLba}..${h.lastUsableLba}`);
    }
  }
  const sorted = [...parts].sort((a, b) => a.firstLba - b.firstLba);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!, b = sorted[i]!;
    if (b.firstLba <= a.lastLba) out.push(`partitions ${a.index + 1} and ${b.index + 1} overlap at LBA ${b.firstLba}`);
  }
  return out;
}

function allZero(buf: Uint8Array, from: number, length: number): boolean {
  for (let i = from; i < from + length; i++) if (buf[i] !== 0) return false;
  return true;
}
