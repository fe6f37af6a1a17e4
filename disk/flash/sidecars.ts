// Holds the image against its manifest (or, without one, its .bmap) before anything is written.
// An image changed after its build (`run` without --snapshot, `upgrade`, `config set`) no longer
// matches the sidecars the build wrote beside it; found while writing, that would leave a stick
// written and unusable. The manifest's sha256 covers every byte, so with one the whole image is
// read (holes included; a compressed image is decompressed once more); with only a .bmap, its
// ranges are. The write and verify still check the ranges again (segments.ts, verify.ts).

import { createHash } from 'node:crypto';
import type { Bytes } from '../../partitions/units.js';
import { rangeBytes } from '../../builder/outputs/bmap.js';
import { FlashFailure, FlashInterrupted } from './errors.js';
import type { ImageSource } from './image.js';
import type { FlashProgress } from './progress.js';

const CHUNK: Bytes = 4 * 1024 * 1024;

const unchanged = (device: string): string =>
  `nothing was written to ${device}. Was the image changed after it was built (run without --snapshot, upgrade, config set)? Rebuild it, or flash a copy made before`;

export async function checkSidecars(source: ImageSource, device: string, progress: FlashProgress, signal?: AbortSignal): Promise<void> {
  if (!source.manifest && !source.bmap) return;
  const reader = await source.openReader();
  const buf = Buffer.alloc(CHUNK);
  const check = (): void => { if (signal?.aborted) throw new FlashInterrupted('checking'); };
  try {
    if (source.manifest) {
      progress.phase(`checking against ${source.manifest.path}`, source.size);
      const h = createHash('sha256');
      for (let at = 0; at < source.size; at += CHUNK) {
        check();
        const chunk = buf.subarray(0, Math.min(CHUNK, source.size - at));
        await reader.read(at, chunk);
        h.update(chunk);
        progress.update(at + chunk.length);
      }
      const seen = h.digest('hex');
      if (seen !== source.manifest.sha256) {
        throw new FlashFailure(`${source.path} does not match ${source.manifest.path}: the image hashes to ${seen}, the manifest says ${source.manifest.sha256}; ${unchanged(device)}`);
      }
      return;
    }
    const b = source.bmap!;
    const total = b.map.ranges.reduce((n, r) => n + rangeBytes(b.map, r).length, 0);
    progress.phase(`checking against ${b.path}`, total);
    let done = 0;
    for (const r of b.map.ranges) {
      const { offset, length } = rangeBytes(b.map, r);
      const h = createHash('sha256');
      for (let at = 0; at < length; at += CHUNK) {
        check();
        const chunk = buf.subarray(0, Math.min(CHUNK, length - at));
        await reader.read(offset + at, chunk);
        h.update(chunk);
        progress.update((done += chunk.length));
      }
      const seen = h.digest('hex');
      if (seen !== r.sha256) {
        throw new FlashFailure(`${source.path} does not match ${b.path}: blocks ${r.first}-${r.last} (bytes ${offset}..${offset + length - 1}) hash to ${seen}, the map says ${r.sha256}; ${unchanged(device)}`);
      }
    }
  } finally {
    await reader.close();
  }
}
