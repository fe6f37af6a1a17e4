// Where a flash writes besides the image's data, and why (docs/flash.md, "What is cleared"):
//
// - the head [0, first partition) and the device's last MiB are composed in memory and written
//   whole, last: the image's protective MBR and primary GPT, rewritten for the device's size, and
//   the backup GPT relocated to the device's real end (what `sgdisk -e` does). Written whole, they
//   also bury an old MBR, an old GPT of either sector size, an ISO9660 volume descriptor (32 KiB)
//   and RAID metadata kept in a disk's last sectors (md 0.90/1.0, Intel, DDF);
// - "stale regions" that the image leaves as holes but that a reader would take at their word
//   if old data were there, so they must read as zeros: the first and last 512 KiB of every
//   partition (other filesystems' superblocks next to ours, which blkid would report as well;
//   our bank state records, of which the loader takes the highest valid sequence number; our
//   coredump header), every FAT's reserved sectors, FAT copies and root directory (holes there
//   are free clusters and empty entries; old data would be cross-linked chains), and the image's
//   own backup GPT area, which becomes free space on a larger device.

import { writeGpt, type GptReadResult } from '../../partitions/gpt.js';
import { MBR, writeProtectiveMbr } from '../../partitions/mbr.js';
// The boot sector parser alone: the FAT package behind fat/index.js costs 150 ms to load.
import { parseBootSector } from '../../partitions/fat/bootsector.js';
import type { Bytes, SectorSize } from '../../partitions/units.js';
import { rangeBytes, type Bmap } from '../../builder/outputs/bmap.js';
import { ComposedArea } from './area.js';
import { mergeSpans } from './spans.js';

/** A byte range [start, end). */
export interface Span { start: Bytes; end: Bytes }

const MiB: Bytes = 1024 * 1024;
/** How much of each partition's start and end must not keep old data. */
export const PARTITION_WINDOW: Bytes = 512 * 1024;

export interface FlashPlan {
  sectorSize: SectorSize;
  imageSize: Bytes;
  deviceSize: Bytes;
  /** [0, headEnd) is written last, from `head`. */
  headEnd: Bytes;
  head: ComposedArea;
  /** [tailStart, deviceSize) is written just before the head, from `tail`. */
  tailStart: Bytes;
  tail: ComposedArea;
  /** Image bytes from here on are its backup GPT: replaced by the relocated one, never copied. */
  imageTableStart: Bytes;
  /** Regions between head and tail that must read as zeros where the image has no data; sorted, disjoint. */
  stale: Span[];
  partitions: { number: number; name: string; start: Bytes; end: Bytes }[];
}

export function makePlan(gpt: GptReadResult, imageSize: Bytes, deviceSize: Bytes): FlashPlan {
  const ss = gpt.sectorSize;
  const parts = [...gpt.partitions].sort((a, b) => a.firstLba - b.firstLba)
    .map((p) => ({ number: p.index + 1, name: p.name, start: p.firstLba * ss, end: (p.lastLba + 1) * ss }));
  const headEnd = Math.min(parts[0]?.start ?? MiB, MiB, imageSize);
  const tailStart = Math.max(headEnd, deviceSize - MiB);
  const imageTableStart = (gpt.primary!.lastUsableLba + 1) * ss;
  const plan: FlashPlan = {
    sectorSize: ss, imageSize, deviceSize, headEnd, tailStart, imageTableStart,
    head: new ComposedArea(0, headEnd),
    tail: new ComposedArea(tailStart, deviceSize - tailStart),
    stale: [],
    partitions: parts,
  };
  for (const p of parts) {
    addStale(plan, { start: p.start, end: Math.min(p.end, p.start + PARTITION_WINDOW) });
    addStale(plan, { start: Math.max(p.start, p.end - PARTITION_WINDOW), end: p.end });
  }
  addStale(plan, { start: imageTableStart, end: imageSize });
  return plan;
}

/** Adds a stale region (clipped to between head and tail), keeping the list sorted and merged. */
export function addStale(plan: FlashPlan, span: Span): void {
  const s = { start: Math.max(span.start, plan.headEnd), end: Math.min(span.end, plan.tailStart) };
  if (s.end <= s.start) return;
  plan.stale = mergeSpans([...plan.stale, s]);
}

/**
 * When the image's data reaches a partition's first sector: a FAT boot sector there names the
 * metadata (reserved sectors, FATs, fixed root directory, FAT32's root directory cluster) that
 * must not keep old data. Anything that does not parse as FAT is left alone.
 */
export function staleFatMetadata(plan: FlashPlan, partitionStart: Bytes, bootSector: Buffer): Span[] {
  let v;
  try { v = parseBootSector(bootSector); } catch { return []; }
  if (v.sectorSize !== plan.sectorSize) return [];
  const spans = [{ start: partitionStart, end: partitionStart + v.firstDataSector * v.sectorSize }];
  if (v.type === 'fat32') {
    const root = partitionStart + (v.firstDataSector + (v.rootCluster - 2) * v.sectorsPerCluster) * v.sectorSize;
    spans.push({ start: root, end: root + v.clusterSize });
  }
  return spans;
}

/**
 * The partition table for the device: the image's entries and disk GUID, with the backup at the
 * device's last LBA. The image's sector 0 keeps its boot code; only a protective MBR's entry is
 * resized (a hybrid MBR is left as it is).
 */
export function relocatedTable(plan: FlashPlan, gpt: GptReadResult, imageSector0: Buffer): { offset: Bytes; data: Buffer }[] {
  const extents = writeGpt({ sectorSize: gpt.sectorSize, sectorCount: plan.deviceSize / gpt.sectorSize, diskGuid: gpt.diskGuid, partitions: gpt.partitions });
  const mbr = Buffer.from(imageSector0.subarray(0, gpt.sectorSize));
  const entries = (b: Buffer) => b.subarray(MBR.partitionTable, MBR.signatureOffset);
  const isProtective = mbr[MBR.partitionTable + 4] === MBR.protectiveType && entries(mbr).subarray(MBR.entrySize).every((x) => x === 0);
  if (isProtective) entries(writeProtectiveMbr(plan.deviceSize / gpt.sectorSize)).copy(mbr, MBR.partitionTable);
  return extents.map((e) => (e.offset === 0 ? { offset: 0, data: mbr } : e));
}

/**
 * The .bmap ranges that land on the device unchanged (not in the rewritten head or tail, not
 * the image's own backup GPT): verify holds the device against their sha256 directly.
 */
export function unchangedRanges(plan: FlashPlan, bmap: Bmap | undefined): { offset: Bytes; length: Bytes; sha256: string; blocks: string }[] {
  if (!bmap) return [];
  const limit = Math.min(plan.tailStart, plan.imageTableStart);
  return bmap.ranges.map((r) => ({ ...rangeBytes(bmap, r), sha256: r.sha256, blocks: `${r.first}-${r.last}` }))
    .filter((r) => r.offset >= plan.headEnd && r.offset + r.length <= limit);
}
