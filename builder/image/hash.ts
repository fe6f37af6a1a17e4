// sha256 of the whole image, holes included (what sha256sum prints), for `build --sha256`. Holes
// are hashed from a zero buffer instead of being read, since the writer knows where it put data.
// It costs the disk's size, not the data's: the manifest's block list is what a build always has.

import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Bytes } from '../../partitions/units.js';
import type { Range } from './sparse-file.js';
import { hashZeros } from '../../support/zero-bytes.cjs';
import { EventLoopTurns } from '../../support/event-loop-turns.js';

/** 1 MiB, as the image writer's copy chunk (sparse-file.ts says why). */
const CHUNK: Bytes = 1024 * 1024;

export interface HashJob { path: string; data: readonly Range[]; regions: { offset: Bytes; size: Bytes }[] }

/** `onProgress` hears how many bytes are hashed: a 64 GiB disk of holes still takes tens of seconds. */
export async function hashWholeImage(path: string, size: Bytes, data: readonly Range[], onProgress?: (done: Bytes, total: Bytes) => void): Promise<string> {
  return (await hashRegions({ path, data, regions: [{ offset: 0, size }] }, onProgress && ((done) => onProgress(done, size))))[0]!;
}

/** sha256 of each region, in order. Regions must not overlap. */
export async function hashRegions(job: HashJob, onProgress?: (done: Bytes) => void): Promise<string[]> {
  const fh = await open(job.path, 'r');
  try {
    const turns = new EventLoopTurns();
    const buf = Buffer.allocUnsafe(CHUNK);
    const out: string[] = [];
    let hashed = 0;
    for (const region of job.regions) {
      const h = createHash('sha256');
      const end = region.offset + region.size;
      let at = region.offset;
      for (const piece of pieces(region.offset, end, job.data)) {
        for (at = piece.start; at < piece.end; at += CHUNK) {
          const n = Math.min(CHUNK, piece.end - at);
          hashed += n;
          onProgress?.(hashed);
          if (!piece.data) {
            hashZeros(h, n);
            // A long hole never awaits a read: a signal must still get its turn.
            await turns.after();
            continue;
          }
          let done = 0;
          while (done < n) {
            const { bytesRead } = await fh.read(buf, done, n - done, at + done);
            if (bytesRead === 0) throw new Error(`${job.path}: ended at byte ${at + done} while hashing`);
            done += bytesRead;
          }
          h.update(buf.subarray(0, n));
        }
      }
      out.push(h.digest('hex'));
    }
    return out;
  } finally {
    await fh.close();
  }
}

/** [start, end) cut into alternating hole and data pieces. `data` is sorted and merged. */
function* pieces(start: Bytes, end: Bytes, data: readonly Range[]): Generator<{ start: Bytes; end: Bytes; data: boolean }> {
  let at = start;
  for (const r of data) {
    const rEnd = r.offset + r.length;
    if (rEnd <= at) continue;
    if (r.offset >= end) break;
    if (r.offset > at) { yield { start: at, end: r.offset, data: false }; at = r.offset; }
    const stop = Math.min(rEnd, end);
    yield { start: at, end: stop, data: true };
    at = stop;
  }
  if (at < end) yield { start: at, end, data: false };
}
