// `bankforge inspect`: read an image (or device) back the way a user's tools would: the GPT with
// both copies checked, and each partition's filesystem with its files and free space. It only
// reads, and it reports every inconsistency it sees as a warning instead of stopping at the first.

import { openFileSource, readTargetGpt } from './file-source.js';
import type { GptReadResult } from '../partitions/gpt.js';
import { gptTypeName } from '../partitions/gpt-types.js';
import { BOOTSTATE_TEXT, EVENT_TEXT, readState, REASON_TEXT, slotOffsets, STATE, text } from '../partitions/bankstate.js';
import { FatError, FatVolume, fileSectorDevice, type FatType } from '../partitions/fat/index.js';
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
  /** The boot-bank state, when the partition ends in a valid state area. */
  bank: InspectedBank | undefined;
}

export interface InspectedBank {
  bank: 'A' | 'B';
  /** The slot holding the current copy, and whether the other slot holds a valid older copy. */
  slot: 0 | 1;
  seq: number;
  bootstate: string;
  triesLeft: number;
  triesMax: number;
  updated: number;
  version: string;
  reason: string;
  detail: string;
  history: { seq: number; event: string; bootstate: string; triesLeft: number; reason: string }[];
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
    gpt = await readTargetGpt(src, path, opts.sectorSize);
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
    const bank = fits ? await inspectBank(path, offset, size) : undefined;
    partitions.push({
      number: p.index + 1, name: p.name, type: gptTypeName(p.typeGuid), typeGuid: p.typeGuid, guid: p.guid,
      firstLba: p.firstLba, lastLba: p.lastLba, offset, size, attributes: `0x${p.attributes.toString(16).padStart(16, '0')}`, fat, bank,
    });
  }
  // status, upgrade and the loader refuse a disk where two partitions claim one bank: say so here too.
  for (const letter of ['A', 'B'] as const) {
    const claims = partitions.filter((p) => p.bank?.bank === letter);
    if (claims.length > 1) warnings.push(`partitions ${claims.map((p) => `${p.number} (${p.name})`).join(' and ')} all claim to be bank ${letter}: status, upgrade and rollback refuse this disk`);
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
    const info = await vol.info();
    try {
      for (const w of await vol.checkConsistency()) warnings.push(`${what}: ${w}`);
    } catch (e) {
      if (!(e instanceof FatError)) throw e;
      warnings.push(`${what}: ${e.message}`);
    }
    const problems: string[] = [];
    const files = await vol.walk(problems);
    for (const w of problems) warnings.push(`${what}: ${w}`);
    await vol.close();
    return {
      type: info.type, label: info.label, serial: info.serial.toString(16).toUpperCase().padStart(8, '0').replace(/^(....)/, '$1-'),
      clusterSize: info.clusterSize, size: info.size, free: info.freeBytes, files,
    };
  } finally {
    await dev.close();
  }
}

async function inspectBank(path: string, offset: Bytes, size: Bytes): Promise<InspectedBank | undefined> {
  if (size < STATE.areaSize) return undefined;
  const src = await openFileSource(path);
  try {
    const [o0, o1] = slotOffsets(size);
    const v = readState(await src.read(offset + o0, STATE.recordSize), await src.read(offset + o1, STATE.recordSize));
    if (!v) return undefined;
    const s = v.state;
    return {
      bank: s.bank === 1 ? 'B' : 'A', slot: v.currentSlot, seq: s.seq, bootstate: BOOTSTATE_TEXT[s.bootstate] ?? String(s.bootstate),
      triesLeft: s.triesLeft, triesMax: s.triesMax, updated: s.updated, version: text(s.version),
      reason: REASON_TEXT[s.reason] ?? String(s.reason), detail: text(s.detail),
      history: s.history.filter((h) => h.event !== 0).map((h) => ({
        seq: h.seq, event: EVENT_TEXT[h.event] ?? String(h.event), bootstate: BOOTSTATE_TEXT[h.bootstate] ?? String(h.bootstate),
        triesLeft: h.triesLeft, reason: REASON_TEXT[h.reason] ?? String(h.reason),
      })),
    };
  } finally {
    await src.close();
  }
}

function looksLikeFat(boot: Buffer): boolean {
  if (boot.readUInt16LE(510) !== 0xaa55) return false;
  const bytesPerSector = boot.readUInt16LE(11);
  const sectorsPerCluster = boot[13]!;
  return [512, 1024, 2048, 4096].includes(bytesPerSector) && sectorsPerCluster > 0 && (sectorsPerCluster & (sectorsPerCluster - 1)) === 0 && boot[16]! > 0;
}
