// What QEMU must be told about a disk image: its format (raw, qcow2 or vmdk, by content, so
// QEMU never guesses, and a file that is none of them is refused) and its logical sector size (a GPT's "EFI PART" header sits in LBA 1: byte 512 on a
// 512-byte-sector disk, byte 4096 on a 4Kn disk).

import { open } from 'node:fs/promises';
import { BankforgeError } from '../support/errors.js';
import type { SectorSize } from '../partitions/units.js';

export type DiskFormat = 'raw' | 'qcow2' | 'vmdk';

export interface DiskInfo { format: DiskFormat; sectorSize: SectorSize }

const QCOW2_MAGIC = Buffer.from('QFI\xfb', 'latin1');
const GPT_SIGNATURE = Buffer.from('EFI PART', 'latin1');
/** A sparse VMDK's header, and a VMDK descriptor file (its extents in other files). */
const VMDK_MAGICS = [Buffer.from('KDMV', 'latin1'), Buffer.from('# Disk DescriptorFile', 'latin1')];
/** The last two bytes of an MBR (and of a FAT boot sector, which OVMF also boots): 0x55 0xAA. */
const MBR_SIGNATURE_AT = 510;

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
  const starts = (magic: Buffer): boolean => head.subarray(0, magic.length).equals(magic);
  const format: DiskFormat = starts(QCOW2_MAGIC) ? 'qcow2' : VMDK_MAGICS.some(starts) ? 'vmdk' : 'raw';
  const gptAt = (offset: number): boolean => head.subarray(offset, offset + GPT_SIGNATURE.length).equals(GPT_SIGNATURE);
  if (format === 'raw' && !gptAt(512) && !gptAt(4096) && !(head[MBR_SIGNATURE_AT] === 0x55 && head[MBR_SIGNATURE_AT + 1] === 0xaa)) {
    throw new BankforgeError(`${path} is not a disk image QEMU can boot: not qcow2 or vmdk, and as a raw disk it has no partition table (no MBR signature at byte ${MBR_SIGNATURE_AT}, no GPT header at byte 512 or 4096)`);
  }
  if (sectorSize) return { format, sectorSize };
  return { format, sectorSize: format === 'raw' && !gptAt(512) && gptAt(4096) ? 4096 : 512 };
}
