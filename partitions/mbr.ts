// The protective MBR in LBA 0 of a GPT disk (UEFI spec 5.2.3): one partition of type 0xEE
// covering the disk (capped at 2^32-1 sectors), so MBR-only tools see the disk as in use.

import type { Lba, Sectors } from './units.js';

export const MBR = {
  size: 512,
  partitionTable: 446,
  entrySize: 16,
  signatureOffset: 510,
  signature: 0xaa55,
  protectiveType: 0xee,
} as const;

const ENTRY = { status: 0, chsFirst: 1, type: 4, chsLast: 5, firstLba: 8, sectors: 12 } as const;

export interface MbrPartition { status: number; type: number; firstLba: Lba; sectors: Sectors }

export function writeProtectiveMbr(diskSectors: Sectors): Buffer {
  const b = Buffer.alloc(MBR.size);
  const e = MBR.partitionTable;
  b[e + ENTRY.status] = 0x00;
  // CHS 0/0/2: the sector right after the MBR, as the spec requires.
  b.set([0x00, 0x02, 0x00], e + ENTRY.chsFirst);
  b[e + ENTRY.type] = MBR.protectiveType;
  // CHS beyond what CHS can express.
  b.set([0xff, 0xff, 0xff], e + ENTRY.chsLast);
  b.writeUInt32LE(1, e + ENTRY.firstLba);
  b.writeUInt32LE(Math.min(diskSectors - 1, 0xffffffff), e + ENTRY.sectors);
  b.writeUInt16LE(MBR.signature, MBR.signatureOffset);
  return b;
}

/** The four primary entries, or undefined when the sector has no 0x55AA signature. */
export function parseMbr(sector0: Uint8Array): MbrPartition[] | undefined {
  const b = Buffer.from(sector0.buffer, sector0.byteOffset, MBR.size);
  if (b.readUInt16LE(MBR.signatureOffset) !== MBR.signature) return undefined;
  const out: MbrPartition[] = [];
  for (let i = 0; i < 4; i++) {
    const e = MBR.partitionTable + i * MBR.entrySize;
    out.push({
      status: b[e + ENTRY.status]!,
      type: b[e + ENTRY.type]!,
      firstLba: b.readUInt32LE(e + ENTRY.firstLba),
      sectors: b.readUInt32LE(e + ENTRY.sectors),
    });
  }
  return out;
}
