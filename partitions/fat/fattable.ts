// FAT entries in their packed forms: 12 bits (two entries in three bytes), 16 bits, or 28 of 32 bits.

import type { Bytes } from '../units.js';
import { FAT_ENTRY_MASK } from './spec.js';
import type { FatType } from './types.js';

/** Bytes the entries 0 .. count-1 occupy. */
export function fatBytesFor(type: FatType, count: number): Bytes {
  return type === 'fat12' ? Math.ceil((count * 3) / 2) : count * (type === 'fat16' ? 2 : 4);
}

/** Byte offset in the FAT where the entry of `cluster` starts (a FAT12 entry also uses the next byte). */
export function fatEntryOffset(type: FatType, cluster: number): Bytes {
  return type === 'fat12' ? cluster + (cluster >> 1) : cluster * (type === 'fat16' ? 2 : 4);
}

/** Reads the entry starting at byte `at` of `bytes`; `odd` says which half of a FAT12 byte pair it is. */
export function readFatEntryAt(type: FatType, bytes: Uint8Array, at: number, odd: boolean): number {
  if (type === 'fat12') {
    const pair = bytes[at]! | (bytes[at + 1]! << 8);
    return odd ? pair >> 4 : pair & 0xfff;
  }
  if (type === 'fat16') return bytes[at]! | (bytes[at + 1]! << 8);
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) & FAT_ENTRY_MASK.fat32;
}

/** Sets the entry at byte `at`; on FAT32 the four reserved top bits already there are kept, as the spec requires. */
export function writeFatEntryAt(type: FatType, bytes: Uint8Array, at: number, odd: boolean, value: number): void {
  if (type === 'fat12') {
    if (odd) {
      bytes[at] = (bytes[at]! & 0x0f) | ((value << 4) & 0xf0);
      bytes[at + 1] = (value >> 4) & 0xff;
    } else {
      bytes[at] = value & 0xff;
      bytes[at + 1] = (bytes[at + 1]! & 0xf0) | ((value >> 8) & 0x0f);
    }
  } else if (type === 'fat16') {
    bytes[at] = value & 0xff;
    bytes[at + 1] = (value >> 8) & 0xff;
  } else {
    bytes[at] = value & 0xff;
    bytes[at + 1] = (value >> 8) & 0xff;
    bytes[at + 2] = (value >> 16) & 0xff;
    bytes[at + 3] = (bytes[at + 3]! & 0xf0) | ((value >> 24) & 0x0f);
  }
}

export function readFatEntry(type: FatType, fat: Uint8Array, cluster: number): number {
  return readFatEntryAt(type, fat, fatEntryOffset(type, cluster), (cluster & 1) === 1);
}

export function writeFatEntry(type: FatType, fat: Uint8Array, cluster: number, value: number): void {
  writeFatEntryAt(type, fat, fatEntryOffset(type, cluster), (cluster & 1) === 1, value);
}
