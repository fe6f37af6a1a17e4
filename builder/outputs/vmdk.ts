// Makes qemu-img's VMDK reproducible. `qemu-img convert -O vmdk` (monolithicSparse) writes a
// random content ID (CID=) into the embedded descriptor and names the extent after the file it
// was asked to write, which for us is the temporary name. Both are rewritten in place here: the
// CID from the raw image's sha256, the extent from the final file name. The descriptor is a text
// area at a fixed place (VMware's Virtual Disk Format 1.1, §"Hosted sparse extent header":
// descriptorOffset and descriptorSize in sectors at bytes 28 and 36), padded with NULs.

import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { BankforgeError } from '../../support/errors.js';

const SECTOR = 512;
const MAGIC = 0x564d444b; // "KDMV" read as a little-endian uint32
const HEADER = { magic: 0, descriptorOffset: 28, descriptorSize: 36 } as const;
/** qemu-img writes a 20-sector descriptor; anything much larger is not one of its files. */
const MAX_DESCRIPTOR_SECTORS = 64;

/** The CID the VMDK for an image with this sha256 (hex) gets: its first 32 bits, as VMware writes CIDs. */
export const vmdkCid = (imageSha256: string): string => imageSha256.slice(0, 8);

export async function fixVmdkDescriptor(path: string, finalPath: string, imageSha256: string): Promise<void> {
  const name = basename(finalPath);
  if (/["\r\n\0]/.test(name)) throw new BankforgeError(`${finalPath}: a VMDK's file name cannot contain quotes or line breaks (its descriptor names it in quotes)`);
  const fh = await open(path, 'r+');
  try {
    const header = Buffer.alloc(SECTOR);
    await fh.read(header, 0, SECTOR, 0);
    if (header.readUInt32LE(HEADER.magic) !== MAGIC) throw new Error(`${path}: qemu-img wrote no sparse VMDK header`);
    const offset = Number(header.readBigUInt64LE(HEADER.descriptorOffset)) * SECTOR;
    const sectors = Number(header.readBigUInt64LE(HEADER.descriptorSize));
    if (offset === 0 || sectors === 0 || sectors > MAX_DESCRIPTOR_SECTORS) throw new Error(`${path}: qemu-img wrote no embedded descriptor (offset ${offset}, ${sectors} sectors)`);
    const area = Buffer.alloc(sectors * SECTOR);
    await fh.read(area, 0, area.length, offset);
    const end = area.indexOf(0);
    const text = area.subarray(0, end < 0 ? area.length : end).toString('latin1');
    let cids = 0;
    let extents = 0;
    const fixed = text
      // qemu-img prints its random CID without leading zeros: 1 to 8 digits.
      .replace(/^CID=[0-9a-f]{1,8}$/m, () => { cids++; return `CID=${vmdkCid(imageSha256)}`; })
      .replace(/^(RW \d+ SPARSE )"[^"\n]*"$/gm, (_m, head: string) => { extents++; return `${head}${JSON.stringify(name)}`; });
    if (cids !== 1 || extents !== 1) throw new Error(`${path}: unexpected VMDK descriptor from qemu-img (${cids} CID lines, ${extents} extent lines)`);
    const bytes = Buffer.from(fixed, 'latin1');
    if (bytes.length > area.length) throw new BankforgeError(`${finalPath}: the file name is too long for the VMDK descriptor (${area.length} bytes)`);
    const out = Buffer.alloc(area.length);
    bytes.copy(out);
    await fh.write(out, 0, out.length, offset);
  } finally {
    await fh.close();
  }
}
