// A fuzz case's disk: a copy of a fixture image with a few bytes written over, made by the kernel
// (copyFile) and patched in place, and compared afterwards through two small reused buffers.
// A whole-image Buffer per case was most of the fuzz campaigns' CPU here: every spawn of the
// program under test write-protects the test process's memory, so each page the test writes after
// it faults again, and a large heap makes every spawn slower.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { copyFile, open } from 'node:fs/promises';

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

const CHUNK = 1024 * 1024;
const SECTOR = 512;
const expected = Buffer.alloc(CHUNK), found = Buffer.alloc(CHUNK);

/**
 * The byte offsets of the 512-byte sectors in which `path` differs from `base` with `damage`
 * written over it ([] when it is the same), or 'size' when its length differs. Synchronous, as
 * the two buffers are shared by every caller: not for a test whose QEMU machine runs meanwhile
 * (docs/testing.md, "Flakiness"), which the fuzz campaigns never have.
 */
export function changedSectors(path: string, base: Buffer, damage: readonly Damage[] = []): number[] | 'size' {
  const fd = openSync(path, 'r');
  try {
    if (fstatSync(fd).size !== base.length) return 'size';
    const changed: number[] = [];
    for (let at = 0; at < base.length; at += CHUNK) {
      const n = Math.min(CHUNK, base.length - at);
      if (readSync(fd, found, 0, n, at) !== n) return 'size';
      base.copy(expected, 0, at, at + n);
      for (const d of damage) {
        const from = Math.max(d.at, at), to = Math.min(d.at + d.bytes.length, at + n);
        if (from < to) d.bytes.copy(expected, from - at, from - d.at, to - d.at);
      }
      if (found.compare(expected, 0, n, 0, n) === 0) continue;
      for (let o = 0; o < n; o += SECTOR) {
        const end = Math.min(o + SECTOR, n);
        if (found.compare(expected, o, end, o, end) !== 0) changed.push(at + o);
      }
    }
    return changed;
  } finally {
    closeSync(fd);
  }
}

/** Whether `path` holds exactly `base` with `damage` written over it. */
export function sameAsDamaged(path: string, base: Buffer, damage: readonly Damage[] = []): boolean {
  const changed = changedSectors(path, base, damage);
  return changed !== 'size' && changed.length === 0;
}
