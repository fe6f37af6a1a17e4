// Units that on-disk code mixes up when they are all `number`: the alias names say which one a value is.
// Sizes stay below 2^53 bytes (8 PiB), so plain numbers are exact.

/** A count or offset in bytes. */
export type Bytes = number;
/** A logical block address: an index of a sector on the disk, in the disk's sector size. */
export type Lba = number;
/** A count of sectors, in the sector size of whatever it describes. */
export type Sectors = number;
/** The sector sizes we build for: classic 512e/512n disks and 4Kn disks. */
export type SectorSize = 512 | 4096;

export const KiB: Bytes = 1024;
export const MiB: Bytes = 1024 * KiB;
export const GiB: Bytes = 1024 * MiB;

export function isSectorSize(n: number): n is SectorSize {
  return n === 512 || n === 4096;
}

/** Round `n` up to the next multiple of `unit`. */
export function alignUp(n: number, unit: number): number {
  return Math.ceil(n / unit) * unit;
}
