// Places a layout's partitions on a disk: LBAs, the disk size, GUIDs. Everything that can be
// wrong with the geometry (misaligned or overlapping partitions, a disk too small, sizes that
// are not whole sectors) is found here, before anything is written.

import { LayoutError } from '../../support/errors.js';
import { deriveGuid } from '../../partitions/seeded-ids.js';
import { entryArraySectors, usableRange } from '../../partitions/gpt.js';
import { alignUp, type Bytes, type Lba, type SectorSize, type Sectors } from '../../partitions/units.js';
import { GPT_TYPE_ALIASES } from '../../partitions/gpt-types.js';
import { COREDUMP } from '../../partitions/coredump.js';
import { formatSize } from './size.js';
import type { LayoutSpec, PartitionSpec } from './types.js';

export interface PlacedPartition {
  spec: PartitionSpec;
  /** Index in the GPT entry array. */
  index: number;
  firstLba: Lba;
  lastLba: Lba;
  offset: Bytes;
  size: Bytes;
  guid: string;
}

export interface PlacedLayout {
  spec: LayoutSpec;
  sectorSize: SectorSize;
  seed: string;
  diskSize: Bytes;
  sectorCount: Sectors;
  diskGuid: string;
  partitions: PlacedPartition[];
}

export interface PlaceOptions {
  /** Build for this sector size instead of the layout's. */
  sectorSize?: SectorSize;
  /** Derive GUIDs and serials from this seed instead of the layout's. */
  seed?: string;
}

export function placeLayout(spec: LayoutSpec, opts: PlaceOptions = {}): PlacedLayout {
  const ss = opts.sectorSize ?? spec.sectorSize;
  const seed = opts.seed ?? spec.seed;
  const fail = (field: string, detail: string): never => { throw new LayoutError(spec.file, field, detail); };
  if (spec.alignment % ss !== 0) fail('alignment', `${spec.alignment} bytes is not a multiple of the ${ss}-byte sector size`);

  // The backup GPT (entry array + header) takes the disk's last sectors.
  const backupBytes = (entryArraySectors(ss) + 1) * ss;
  const firstUsable = usableRange(ss, 1 << 20).first * ss;
  let cursor = alignUp(firstUsable, spec.alignment);
  const placed: PlacedPartition[] = [];

  spec.partitions.forEach((p, index) => {
    let start = cursor;
    if (p.start !== undefined) {
      if (p.start % spec.alignment !== 0) fail(`${p.field}.start`, `${p.start} is not aligned to ${formatSize(spec.alignment)} (alignment)`);
      if (p.start < firstUsable) fail(`${p.field}.start`, `${p.start} is inside the primary GPT, which ends at byte ${firstUsable}`);
      const prev = placed[placed.length - 1];
      if (prev && p.start < prev.offset + prev.size) {
        fail(`${p.field}.start`, `byte ${p.start} overlaps partition "${prev.spec.name}" (bytes ${prev.offset}..${prev.offset + prev.size - 1})`);
      }
      start = p.start;
    }
    let size: Bytes;
    if (p.size === 'fill') {
      if (spec.diskSize === 'fit') fail(`${p.field}.size`, '"fill" needs a fixed diskSize');
      size = Math.floor(((spec.diskSize as Bytes) - backupBytes - start) / ss) * ss;
      if (size <= 0) fail(`${p.field}.size`, `nothing left to fill: the partition would start at byte ${start} of a ${formatSize(spec.diskSize as Bytes)} disk`);
    } else {
      size = p.size;
      if (size % ss !== 0) fail(`${p.field}.size`, `${size} bytes is not a whole number of ${ss}-byte sectors`);
    }
    // The kernel writes dumps into a vmkDiagnostic partition and `coredump` reads them: one
    // too small for a single slot is a partition that would only ever be refused later.
    const minDump = COREDUMP.block + COREDUMP.minSlotSize;
    if (p.typeGuid === GPT_TYPE_ALIASES.vmkdiagnostic && size < minDump) {
      fail(`${p.field}.size`, `${size} bytes is too small for a vmkDiagnostic (core-dump) partition: at least ${minDump} bytes (a 4 KiB header and one dump slot)`);
    }
    placed.push({ spec: p, index, firstLba: start / ss, lastLba: (start + size) / ss - 1, offset: start, size, guid: p.guid ?? deriveGuid(seed, `partition:${p.name}`) });
    cursor = alignUp(start + size, spec.alignment);
  });

  const last = placed[placed.length - 1]!;
  const needed = last.offset + last.size + backupBytes;
  let diskSize: Bytes;
  if (spec.diskSize === 'fit') diskSize = alignUp(needed, spec.alignment);
  else {
    diskSize = spec.diskSize;
    if (diskSize % ss !== 0) fail('diskSize', `${diskSize} bytes is not a whole number of ${ss}-byte sectors`);
    if (diskSize < needed) {
      fail('diskSize', `${formatSize(diskSize)} is too small: partition "${last.spec.name}" ends at byte ${last.offset + last.size} and the backup GPT needs ${backupBytes} more, so at least ${needed} bytes`);
    }
  }
  return {
    spec, sectorSize: ss, seed, diskSize, sectorCount: diskSize / ss,
    diskGuid: spec.diskGuid ?? deriveGuid(seed, 'disk'), partitions: placed,
  };
}
