// A disk image file written sparsely: the file is sized up front (a hole reading as zeros) and
// only data is written, so a 750 MiB image with 20 MB of content costs 20 MB of writes and
// disk. It records which ranges hold data, for hashing without reading holes and for bmap.

import { open, type FileHandle } from 'node:fs/promises';
import type { ByteSink } from '../../partitions/sink.js';
import type { Bytes } from '../../partitions/units.js';

const COPY_CHUNK: Bytes = 4 * 1024 * 1024;

export interface Range { offset: Bytes; length: Bytes }

export class SparseImageFile {
  private readonly written: Range[] = [];
  private readonly zero = Buffer.alloc(COPY_CHUNK);

  private constructor(readonly path: string, readonly size: Bytes, private readonly fh: FileHandle) {}

  /**
   * Create `path` (which must not exist: it is a fresh temporary name, and O_EXCL keeps a link
   * planted there from being followed) as a hole of `size` bytes. A size past the file system's
   * limit fails here (EFBIG), before anything is written.
   */
  static async create(path: string, size: Bytes): Promise<SparseImageFile> {
    const fh = await open(path, 'wx+', 0o644);
    try {
      await fh.truncate(size);
    } catch (e) {
      await fh.close();
      throw e;
    }
    return new SparseImageFile(path, size, fh);
  }

  async write(offset: Bytes, data: Uint8Array): Promise<void> {
    this.check(offset, data.length);
    await writeAll(this.fh, data, offset);
    this.note(offset, data.length);
  }

  /** Copy a host file in; chunks that are all zeros stay holes, since the image reads as zeros there. */
  async copyFile(offset: Bytes, path: string, length: Bytes): Promise<void> {
    this.check(offset, length);
    const src = await open(path, 'r');
    try {
      const buf = Buffer.allocUnsafe(Math.min(COPY_CHUNK, Math.max(length, 1)));
      let done = 0;
      while (done < length) {
        const want = Math.min(buf.length, length - done);
        const { bytesRead } = await src.read(buf, 0, want, done);
        if (bytesRead !== want) throw new Error(`${path}: expected ${length} bytes, the file ended at ${done + bytesRead} (did it change during the build?)`);
        const chunk = buf.subarray(0, want);
        if (!chunk.equals(this.zero.subarray(0, want))) {
          await writeAll(this.fh, chunk, offset + done);
          this.note(offset + done, want);
        }
        done += want;
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
