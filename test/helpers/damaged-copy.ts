// A fuzz case's disk: a copy of a fixture image with a few bytes written over, made by the kernel
// (copyFile) and patched in place, and compared afterwards a piece at a time.
// A whole-image Buffer per case was most of the fuzz campaigns' CPU here: every spawn of the
// program under test write-protects the test process's memory, so each page the test writes after
// it faults again, and a large heap makes every spawn slower.

import { copyFile, open } from 'node:fs/promises';
import { eachPiece } from './file-bytes.js';

/** Bytes written over the fixture at a byte offset. */
export interface Damage { at: number; bytes: Buffer }

/** Writes `from` with `damage` over it to `to`. */
export async function writeDamagedCopy(from: string, to: string, damage: readonly Damage[]): Promise<void> {
  await copyFile(from, to);
  const fh = await open(to, 'r+');
  try {
    for (const d of damage) await fh.write(d.bytes, 0, d.bytes.length, d.at);
  } finally {
    await fh.close();
  }
}

const SECTOR = 512;

/**
 * The byte offsets of the 512-byte sectors in which `path` differs from `base` with `damage`
 * written over it ([] when it is the same), or 'size' when its length differs. Read piece by
 * piece (file-bytes.ts), each held against the same stretch of `base` with the damage on it.
 */
export async function changedSectors(path: string, base: Buffer, damage: readonly Damage[] = []): Promise<number[] | 'size'> {
  const changed: number[] = [];
  let expected = Buffer.alloc(0);
  let at = 0;
  await eachPiece(path, 0, (found) => {
    const n = Math.min(found.length, base.length - at);
    if (expected.length < n) expected = Buffer.alloc(n);
    base.copy(expected, 0, at, at + n);
    for (const d of damage) {
      const from = Math.max(d.at, at), to = Math.min(d.at + d.bytes.length, at + n);
      if (from < to) d.bytes.copy(expected, from - at, from - d.at, to - d.at);
    }
    if (found.compare(expected, 0, n, 0, n) !== 0) {
      // Sector by sector, in the file's sectors (a piece need not start on one).
      for (let s = at - (at % SECTOR); s < at + n; s += SECTOR) {
        const from = Math.max(s, at) - at, to = Math.min(s + SECTOR, at + n) - at;
        if (found.compare(expected, from, to, from, to) !== 0 && changed.at(-1) !== s) changed.push(s);
      }
    }
    at += found.length;
    return at <= base.length;
  });
  return at === base.length ? changed : 'size';
}

/** Whether `path` holds exactly `base` with `damage` written over it. */
export async function sameAsDamaged(path: string, base: Buffer, damage: readonly Damage[] = []): Promise<boolean> {
  const changed = await changedSectors(path, base, damage);
  return changed !== 'size' && changed.length === 0;
}
