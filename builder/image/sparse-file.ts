// A disk image file written sparsely: the file is sized up front (a hole reading as zeros) and
// only data is written, so a 750 MiB image with 20 MB of content costs 20 MB of writes and
// disk. It records which ranges hold data (for the block list and bmap), and hands every write
// to a BlockHasher while the write is under way, so the data is hashed once, from memory, and
// never read back. A host file is copied in large chunks, the next read while this one is
// written and hashed.

import { open, type FileHandle } from 'node:fs/promises';
import type { ByteSink } from '../../partitions/sink.js';
import { BlockHasher } from './block-hasher.js';
import type { Bytes } from '../../partitions/units.js';

const COPY_CHUNK: Bytes = 4 * 1024 * 1024;

export interface Range { offset: Bytes; length: Bytes }

export class SparseImageFile {
  private readonly written: Range[] = [];
  private readonly zero = Buffer.alloc(COPY_CHUNK);

  private constructor(readonly path: string, readonly size: Bytes, private readonly fh: FileHandle, readonly hasher: BlockHasher) {}

  /**
   * Create `path` (which must not exist: it is a fresh temporary name, and O_EXCL keeps a link
   * planted there from being followed) as a hole of `size` bytes. A size past the file system's
   * limit fails here (EFBIG), before anything is written.
   */
  static async create(path: string, size: Bytes, blockSize: Bytes): Promise<SparseImageFile> {
    const fh = await open(path, 'wx+', 0o644);
    try {
      await fh.truncate(size);
    } catch (e) {
      await fh.close();
      throw e;
    }
    return new SparseImageFile(path, size, fh, new BlockHasher(size, blockSize));
  }

  async write(offset: Bytes, data: Uint8Array): Promise<void> {
    this.check(offset, data.length);
    await this.writeAndHash(offset, data);
  }

  /** The write goes to the thread pool; the hash is computed meanwhile (both only read `data`). */
  private async writeAndHash(offset: Bytes, data: Uint8Array): Promise<void> {
    const written = writeAll(this.fh, data, offset);
    try {
      this.hasher.add(offset, data);
    } finally {
      await written;
    }
    this.note(offset, data.length);
  }

  /** Copy a host file in; chunks that are all zeros stay holes, since the image reads as zeros there. */
  async copyFile(offset: Bytes, path: string, length: Bytes): Promise<void> {
    this.check(offset, length);
    const src = await open(path, 'r');
    try {
      const size = Math.min(COPY_CHUNK, Math.max(length, 1));
      const bufs = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
      const fetch = (at: Bytes, k: number): Promise<Buffer> => {
        const want = Math.min(size, length - at);
        const p = src.read(bufs[k % 2]!, 0, want, at).then(({ bytesRead }) => {
          if (bytesRead !== want) throw new Error(`${path}: expected ${length} bytes, the file ended at ${at + bytesRead} (did it change during the build?)`);
          return bufs[k % 2]!.subarray(0, want);
        });
        p.catch(() => undefined); // awaited below; a failure before then must not go unhandled
        return p;
      };
      let next = fetch(0, 0);
      for (let done = 0, k = 0; done < length; k++) {
        const chunk = await next;
        if (done + chunk.length < length) next = fetch(done + chunk.length, k + 1);
        if (!chunk.equals(this.zero.subarray(0, chunk.length))) await this.writeAndHash(offset + done, chunk);
        done += chunk.length;
      }
    } finally {
      await src.close();
    }
  }

  /** A sink for a region of the image (a partition), addressed from 0. */
  region(start: Bytes, size: Bytes): ByteSink {
    const bound = (offset: Bytes, length: Bytes) => {
      if (offset < 0 || offset + length > size) {
        throw new Error(`write of ${length} bytes at ${offset} is outside the ${size}-byte region at image byte ${start}`);
      }
      return start + offset;
    };
    return {
      write: (offset, data) => this.write(bound(offset, data.length), data),
      copyFile: (offset, path, length) => this.copyFile(bound(offset, length), path, length),
    };
  }

  /** The data ranges, sorted and merged. */
  dataRanges(): Range[] {
    const sorted = [...this.written].sort((a, b) => a.offset - b.offset);
    const out: Range[] = [];
    for (const r of sorted) {
      const last = out[out.length - 1];
      if (last && r.offset <= last.offset + last.length) {
        last.length = Math.max(last.length, r.offset + r.length - last.offset);
      } else out.push({ ...r });
    }
    return out;
  }

  async read(offset: Bytes, into: Buffer): Promise<void> {
    let done = 0;
    while (done < into.length) {
      const { bytesRead } = await this.fh.read(into, done, into.length - done, offset + done);
      if (bytesRead === 0) throw new Error(`${this.path}: unexpected end of file at byte ${offset + done}`);
      done += bytesRead;
    }
  }

  async close(): Promise<void> {
    await this.fh.sync();
    await this.fh.close();
  }

  private check(offset: Bytes, length: Bytes): void {
    if (offset < 0 || offset + length > this.size) throw new Error(`write of ${length} bytes at ${offset} is past the end of the ${this.size}-byte image`);
  }

  private note(offset: Bytes, length: Bytes): void {
    const last = this.written[this.written.length - 1];
    if (last && last.offset + last.length === offset) last.length += length;
    else this.written.push({ offset, length });
  }
}

async function writeAll(fh: FileHandle, data: Uint8Array, position: Bytes): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}
