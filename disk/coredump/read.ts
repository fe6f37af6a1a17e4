// Finding the core-dump partition of an image or device and reading its dumps (partitions/coredump.ts).
// Apart from report.ts so that `status`, which only counts the dumps, loads none of what
// rendering, symbolizing and extracting them needs (the FAT reader, output files).

import { BankforgeError } from '../../support/errors.js';
import { readTargetGpt, withFileSource } from '../file-source.js';
import { GPT_TYPE_ALIASES } from '../../partitions/gpt-types.js';
import { readDumpHeaders, readDumps, type Dump, type DumpHeaderEntry, type Geometry } from '../../partitions/coredump.js';
import type { GptReadResult } from '../../partitions/gpt.js';
import { readSpaced, type ByteSource } from '../../partitions/sink.js';
import type { Bytes, SectorSize } from '../../partitions/units.js';

export interface CoredumpPartition { number: number; name: string; offset: Bytes; size: Bytes; sectorSize: SectorSize }

export interface Disk { target: string; partition: CoredumpPartition; geometry: Geometry; dumps: Dump[] }

/** The first partition of type vmkDiagnostic, and its dumps. */
export function readDisk(target: string): Promise<Disk> {
  return withFileSource(target, (src) => readDiskFrom(src, target));
}

/** The same from an already open target (`target` names it in messages and in the result), and its GPT when read already. */
export async function readDiskFrom(src: ByteSource, target: string, table?: GptReadResult): Promise<Disk> {
  return readPartition(src, target, table, readDumps);
}

/** The dumps' headers only (partitions/coredump.ts, readDumpHeaders): what `status` reads. */
export function readDumpHeadersFrom(src: ByteSource, target: string, table?: GptReadResult): Promise<DiskHeaders> {
  return readPartition(src, target, table, readDumpHeaders);
}

export interface DiskHeaders { target: string; partition: CoredumpPartition; geometry: Geometry; entries: DumpHeaderEntry[] }

async function readPartition<T extends object>(src: ByteSource, target: string, table: GptReadResult | undefined, read: (region: ByteSource) => Promise<T>): Promise<{ target: string; partition: CoredumpPartition } & T> {
  const gpt = table ?? await readTargetGpt(src, target);
  const p = [...gpt.partitions].sort((a, b) => a.index - b.index).find((x) => x.typeGuid.toUpperCase() === GPT_TYPE_ALIASES.vmkdiagnostic);
  if (!p) throw new BankforgeError(`${target}: no core-dump partition (GPT type vmkdiagnostic, ${GPT_TYPE_ALIASES.vmkdiagnostic})`);
  const partition = { number: p.index + 1, name: p.name, offset: p.firstLba * gpt.sectorSize, size: (p.lastLba - p.firstLba + 1) * gpt.sectorSize, sectorSize: gpt.sectorSize };
  if (partition.offset + partition.size > src.size) {
    throw new BankforgeError(`${target}: the core-dump partition (bytes ${partition.offset}-${partition.offset + partition.size - 1}) runs past the end (${src.size} bytes)`);
  }
  const region: ByteSource = {
    size: partition.size,
    read: (o, l) => src.read(partition.offset + o, l),
    readSpaced: (o, stride, count, l) => readSpaced(src, partition.offset + o, stride, count, l),
  };
  try {
    return { target, partition, ...(await read(region)) };
  } catch (e) {
    throw new BankforgeError(`${target}: partition ${partition.number}: ${(e as Error).message}`);
  }
}
