// The deterministic derivation that makes builds reproducible: a GUID (or a FAT serial) is a hash
// of the layout's seed and what it is for, so the same layout always gets the same identifiers.

import { createHash } from 'node:crypto';

/**
 * A GUID derived from `seed` and `purpose` (e.g. "disk", "partition:bootbank"). The hash bits are
 * marked as an RFC 4122 version-4 / variant-1 UUID so tools that check the form accept them.
 */
export function deriveGuid(seed: string, purpose: string): string {
  const h = createHash('sha256').update(`bankforge-guid\0${seed}\0${purpose}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x40;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** A 32-bit value derived the same way, for FAT volume serials. */
export function deriveU32(seed: string, purpose: string): number {
  return createHash('sha256').update(`bankforge-u32\0${seed}\0${purpose}`).digest().readUInt32LE(0);
}
