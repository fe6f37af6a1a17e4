// Whole-file questions the tests ask of images hundreds of MiB long (mostly holes): their sha256,
// and whether they hold a string. Read through one reused 1 MiB buffer: reading a 752 MiB image
// into one Buffer costs a page fault per 4 KiB of fresh memory on these machines (~3.5 s each).
// The reads are asynchronous on purpose: a test that hashes while a machine of its own runs must
// keep reading that machine's serial line. QEMU writes the guest's UART to its pipe a byte at a
// time, a few hundred of which fill the socket Node reads it from; a loop of synchronous reads
// (half a second for 750 MiB) stalled the UART until the kernel's bounded wait gave up and bytes
// of the DCUI's page were lost.

import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

const CHUNK = 1024 * 1024;

/** Calls `use` with each piece of the file in order; `keep` bytes of the previous piece come first, so a match across two pieces is seen. */
export async function eachPiece(path: string, keep: number, use: (piece: Buffer) => boolean | void): Promise<void> {
  const buf = Buffer.allocUnsafe(CHUNK + keep);
  const fh = await open(path, 'r');
  try {
    let carried = 0;
    for (let at = 0; ;) {
      const { bytesRead: n } = await fh.read(buf, carried, CHUNK, at);
      if (n === 0) return;
      if (use(buf.subarray(0, carried + n)) === false) return;
      at += n;
      const tail = Math.min(keep, carried + n);
      buf.copy(buf, 0, carried + n - tail, carried + n);
      carried = tail;
    }
  } finally {
    await fh.close();
  }
}

export async function sha256OfFile(path: string): Promise<string> {
  const h = createHash('sha256');
  await eachPiece(path, 0, (piece) => { h.update(piece); });
  return h.digest('hex');
}

/** The first of `needles` that occurs anywhere in the file, or undefined. */
export async function fileIncludes(path: string, needles: readonly string[]): Promise<string | undefined> {
  const bufs = needles.map((s) => Buffer.from(s));
  const keep = Math.max(0, ...bufs.map((b) => b.length - 1));
  let found: string | undefined;
  await eachPiece(path, keep, (piece) => {
    const i = bufs.findIndex((b) => piece.includes(b));
    if (i >= 0) { found = needles[i]; return false; }
  });
  return found;
}
