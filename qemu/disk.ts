// What QEMU must be told about a disk image: its format (raw or qcow2, by magic, so QEMU never
// guesses) and its logical sector size (a GPT's "EFI PART" header sits in LBA 1: byte 512 on a
// 512-byte-sector disk, byte 4096 on a 4Kn disk).

import { open } from 'node:fs/promises';
import { BankforgeError } from '../support/errors.js';
import type { SectorSize } from '../partitions/units.js';

export type DiskFormat = 'raw' | 'qcow2';

export interface DiskInfo { format: DiskFormat; sectorSize: SectorSize }

const QCOW2_MAGIC = Buffer.from('QFI\xfb', 'latin1');
const GPT_SIGNATURE = Buffer.from('EFI PART', 'latin1');

/**
 * Reads the image's first 4 KiB plus 8 bytes. `sectorSize` overrides detection; without it a
 * raw image with no GPT at either place, or a qcow2 image (whose GPT is behind its mapping), is
 * taken as 512.
 */
export async function probeDisk(path: string, sectorSize?: SectorSize): Promise<DiskInfo> {
  let head: Buffer;
  try {
    const fh = await open(path, 'r');
    try {
      head = Buffer.alloc(4096 + GPT_SIGNATURE.length);
      const { bytesRead } = await fh.read(head, 0, head.length, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new BankforgeError(`cannot read disk image ${path}: ${(e as Error).message}`);
  }
  const format: DiskFormat = head.subarray(0, 4).equals(QCOW2_MAGIC) ? 'qcow2' : 'raw';
  if (sectorSize) return { format, sectorSize };
  const gptAt = (offset: number): boolean => head.subarray(offset, offset + GPT_SIGNATURE.length).equals(GPT_SIGNATURE);
  return { format, sectorSize: format === 'raw' && !gptAt(512) && gptAt(4096) ? 4096 : 512 };
}
