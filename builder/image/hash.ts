// sha256 of the whole image and of each partition. Holes are hashed from a zero buffer instead
// of being read, since the writer knows where it put data. The whole-image hash runs in a worker
// thread while this thread hashes the partitions: the two are the same amount of work, and
// hashing 2 x 750 MiB is most of what a build costs.

import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { Bytes } from '../../partitions/units.js';
import type { Range } from './sparse-file.js';

const CHUNK: Bytes = 4 * 1024 * 1024;
const YIELD_EVERY: Bytes = 256 * 1024 * 1024;

export interface HashedRegion { name: string; offset: Bytes; size: Bytes }
export interface ImageHashes { image: string; regions: Record<string, string> }

/** What a worker needs to hash regions of an image file on its own. */
export interface HashJob { path: string; data: Range[]; regions: { offset: Bytes; size: Bytes }[] }

/**
 * `onProgress` hears how many of the partitions' bytes this thread has hashed (the worker does the
 * same amount for the whole image): a 64 GiB disk of holes still takes tens of seconds.
 */
export async function hashImage(path: string, size: Bytes, data: Range[], regions: HashedRegion[], onProgress?: (done: Bytes, total: Bytes) => void): Promise<ImageHashes> {
  const whole = new Promise<string>((resolve, reject) => {
    const job: HashJob = { path, data, regions: [{ offset: 0, size }] };
    const w = new Worker(new URL('./hash-worker.js', import.meta.url), { workerData: job });
    w.once('message', (hashes: string[]) => resolve(hashes[0]!));
    w.once('error', reject);
    w.once('exit', (code) => { if (code !== 0) reject(new Error(`hash worker exited with ${code}`)); });
  });
  const total = regions.reduce((n, r) => n + r.size, 0);
  const parts = await hashRegions({ path, data, regions }, onProgress && ((done) => onProgress(done, total)));
  const out: Record<string, string> = {};
  regions.forEach((r, i) => { out[r.name] = parts[i]!; });
  return { image: await whole, regions: out };
}

/** sha256 of each region, in order. Regions must not overlap. */
export async function hashRegions(job: HashJob, onProgress?: (done: Bytes) => void): Promise<string[]> {
  const fh = await open(job.path, 'r');
  try {
    const zero = Buffer.alloc(CHUNK);
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
            h.update(zero.subarray(0, n));
            // A long hole never awaits a read: yield now and then, so a signal can be handled.
            if (hashed % YIELD_EVERY < n) await new Promise(setImmediate);
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
function* pieces(start: Bytes, end: Bytes, data: Range[]): Generator<{ start: Bytes; end: Bytes; data: boolean }> {
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
