// `bankforge inspect`: read an image (or device) back the way a user's tools would: the GPT with
// both copies checked, and each partition's filesystem with its files and free space. It only
// reads, and it reports every inconsistency it sees as a warning instead of stopping at the first.

import { openFileSource } from './image/file-source.js';
import { BankforgeError } from './errors.js';
import { readGpt, GptError, type GptReadResult } from '../partitions/gpt.js';
import { gptTypeName } from '../partitions/gpt-types.js';
import { FatVolume, fileSectorDevice, type FatType } from '../partitions/fat/index.js';
import type { Bytes, Lba, SectorSize } from '../partitions/units.js';

export interface InspectedFile { path: string; size: Bytes; isDir: boolean }

export interface InspectedFat {
  type: FatType;
  label: string;
  serial: string;
  clusterSize: Bytes;
  size: Bytes;
  free: Bytes;
  files: InspectedFile[];
}

export interface InspectedPartition {
  number: number;
  name: string;
  type: string;
  typeGuid: string;
  guid: string;
  firstLba: Lba;
  lastLba: Lba;
  offset: Bytes;
  size: Bytes;
  attributes: string;
  /** The FAT found in the partition; undefined for raw or unrecognised content. */
  fat: InspectedFat | undefined;
}

export interface InspectReport {
  image: string;
  size: Bytes;
  sectorSize: SectorSize;
  diskGuid: string;
  gptSource: 'primary' | 'backup';
  partitions: InspectedPartition[];
  warnings: string[];
}

export async function inspect(path: string, opts: { sectorSize?: SectorSize } = {}): Promise<InspectReport> {
  const src = await openFileSource(path);
  let gpt: GptReadResult;
  try {
    gpt = await readGpt(src, opts.sectorSize);
  } catch (e) {
    if (e instanceof GptError) throw new BankforgeError(`${path}: ${e.message}`);
    throw e;
  } finally {
    await src.close();
  }
  const warnings = [...gpt.warnings];
  const partitions: InspectedPartition[] = [];
  for (const p of [...gpt.partitions].sort((a, b) => a.index - b.index)) {
    const offset = p.firstLba * gpt.sectorSize;
    const size = (p.lastLba - p.firstLba + 1) * gpt.sectorSize;
    const fits = p.lastLba < gpt.sectorCount && p.lastLba >= p.firstLba;
    const fat = fits ? await inspectFat(path, offset, size, gpt.sectorSize, `partition ${p.index + 1} (${p.name})`, warnings) : undefined;
    partitions.push({
      number: p.index + 1, name: p.name, type: gptTypeName(p.typeGuid), typeGuid: p.typeGuid, guid: p.guid,
      firstLba: p.firstLba, lastLba: p.lastLba, offset, size, attributes: `0x${p.attributes.toString(16).padStart(16, '0')}`, fat,
    });
  }
  return { image: path, size: gpt.sectorCount * gpt.sectorSize, sectorSize: gpt.sectorSize, diskGuid: gpt.diskGuid, gptSource: gpt.source, partitions, warnings };
}

/** Looks for a FAT boot sector first, so raw partitions are reported as raw and not as errors. */
async function inspectFat(path: string, offset: Bytes, size: Bytes, ss: SectorSize, what: string, warnings: string[]): Promise<InspectedFat | undefined> {
  const dev = await fileSectorDevice(path, offset, size, ss, false);
  try {
    const boot = Buffer.alloc(ss);
    await dev.read(0, boot);
    if (!looksLikeFat(boot)) return undefined;
    let vol: FatVolume;
    try {
      vol = await FatVolume.open(dev, { readOnly: true });
    } catch (e) {
      warnings.push(`${what}: has a FAT boot sector but cannot be read: ${(e as Error).message}`);
      return undefined;
    }
    const info = vol.info();
    for (const w of await vol.checkConsistency()) warnings.push(`${what}: ${w}`);
    const files = await vol.walk();
    await vol.close();
    return {
      type: info.type, label: info.label, serial: info.serial.toString(16).toUpperCase().padStart(8, '0').replace(/^(....)/, '$1-'),
      clusterSize: info.clusterSize, size: info.size, free: info.freeBytes, files,
    };
  } finally {
    await dev.close();
  }
}

function looksLikeFat(boot: Buffer): boolean {
  if (boot.readUInt16LE(510) !== 0xaa55) return false;
  const bytesPerSector = boot.readUInt16LE(11);
  const sectorsPerCluster = boot[13]!;
  return [512, 1024, 2048, 4096].includes(bytesPerSector) && sectorsPerCluster > 0 && (sectorsPerCluster & (sectorsPerCluster - 1)) === 0 && boot[16]! > 0;
}
