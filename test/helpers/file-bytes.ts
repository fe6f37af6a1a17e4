// Whole-file questions the tests ask of images hundreds of MiB long (mostly holes): their sha256,
// and whether they hold a string. Read through one reused 1 MiB buffer: reading a 752 MiB image
// into one Buffer costs a page fault per 4 KiB of fresh memory on these machines (~3.5 s each).

import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

const CHUNK = 1024 * 1024;

/** Calls `use` with each piece of the file in order; `keep` bytes of the previous piece come first, so a match across two pieces is seen. */
function eachPiece(path: string, keep: number, use: (piece: Buffer) => boolean | void): void {
  const buf = Buffer.allocUnsafe(CHUNK + keep);
  const fd = openSync(path, 'r');
  try {
    let carried = 0;
    for (let at = 0; ;) {
      const n = readSync(fd, buf, carried, CHUNK, at);
      if (n === 0) return;
      if (use(buf.subarray(0, carried + n)) === false) return;
      at += n;
      const tail = Math.min(keep, carried + n);
      buf.copy(buf, 0, carried + n - tail, carried + n);
      carried = tail;
    }
  } finally {
    closeSync(fd);
  }
}

export function sha256OfFile(path: string): string {
  const h = createHash('sha256');
  eachPiece(path, 0, (piece) => { h.update(piece); });
  return h.digest('hex');
}

/** The first of `needles` that occurs anywhere in the file, or undefined. */
export function fileIncludes(path: string, needles: readonly string[]): string | undefined {
  const bufs = needles.map((s) => Buffer.from(s));
  const keep = Math.max(0, ...bufs.map((b) => b.length - 1));
  let found: string | undefined;
  eachPiece(path, keep, (piece) => {
    const i = bufs.findIndex((b) => piece.includes(b));
    if (i >= 0) { found = needles[i]; return false; }
  });
  return found;
}
