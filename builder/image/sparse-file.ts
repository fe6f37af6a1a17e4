// A disk image file written sparsely: the file is sized up front (a hole reading as zeros) and
// only data is written, so a 750 MiB image with 20 MB of content costs 20 MB of writes and
// disk. It records which ranges hold data (for the block list and bmap), and hands every write
// to a BlockHasher, so the data is hashed once, from memory, and never read back.
// Format writers' many small writes are synchronous: on these machines each trip through
// libuv's thread pool costs 50-100 µs. Host files are copied through the pool, in 1 MiB chunks
// and reused buffers, so that reading and writing overlap the hashing.

import { closeSync, fdatasync, fsync, ftruncateSync, openSync, read } from 'node:fs';
import { promisify } from 'node:util';
import type { ByteSink } from '../../partitions/sink.js';
import { BlockHasher } from './block-hasher.js';
import { isZero } from '../../support/zero-bytes.cjs';
import type { Bytes } from '../../partitions/units.js';
import { writeAllAt, writeAllAtAsync } from '../../support/write-all.js';

/**
 * 1 MiB: the copy buffers' pages are faulted in on first use (about 4.5 ms per MiB on these
 * machines), which the first file's copy waits for, and a chunk is still in the CPU's caches when
 * it is hashed. With 4 MiB the seed layout with 20 MB of content built in 0.284 s instead of
 * 0.246 s, and with 400 MB in 0.90 s instead of 0.68 s (medians of 9 and 5, in turn).
 */
const COPY_CHUNK: Bytes = 1024 * 1024;
/**
 * How much copied data starts a flush in the background, so that close's fsync waits only for the
 * rest. 8 MiB: with 64 MiB a build with 20 MB of content never flushed before close and then
 * waited ~15 ms for the disk; builds of the seed layout, medians of 21 (20 MB) and 7 (400 MB)
 * runs in turn: 64 MiB 164 / 763 ms, 16 MiB 157 / 747, 8 MiB 145 / 675, 4 MiB 143 / 705.
 */
export const FLUSH_EVERY: Bytes = 8 * 1024 * 1024;
const readAsync = promisify(read);
const fdatasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);

export interface Range { offset: Bytes; length: Bytes }

export class SparseImageFile {
  private readonly written: Range[] = [];
  /**
   * Two copy buffers for every file (one read into while the other is written and hashed):
   * memory the process has not touched yet costs a page fault per 4 KiB on first use, which
   * made fresh buffers per file cost more than the copy.
   */
  private readonly bufs = [Buffer.allocUnsafe(COPY_CHUNK), Buffer.allocUnsafe(COPY_CHUNK)] as const;

  private unflushed: Bytes = 0;
  private flushes = 0;
  private flushing: Promise<void> | undefined;
  /** A failed background flush: Linux reports a write-back error once, so it is kept for close(). */
  private flushError: unknown;

  private constructor(readonly path: string, readonly size: Bytes, private readonly fd: number, readonly hasher: BlockHasher) {}

  /**
   * Create `path` (which must not exist: it is a fresh temporary name, and O_EXCL keeps a link
   * planted there from being followed) as a hole of `size` bytes. A size past the file system's
   * limit fails here (EFBIG), before anything is written.
   */
  static async create(path: string, size: Bytes, blockSize: Bytes): Promise<SparseImageFile> {
    const fd = openSync(path, 'wx+', 0o644);
    try {
      ftruncateSync(fd, size);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return new SparseImageFile(path, size, fd, new BlockHasher(size, blockSize));
  }

  async write(offset: Bytes, data: Uint8Array): Promise<void> {
    this.check(offset, data.length);
    this.writeAndHash(offset, data);
  }

  private writeAndHash(offset: Bytes, data: Uint8Array): void {
    this.hasher.add(offset, data);
    writeAllAt(this.fd, data, offset);
    this.note(offset, data.length);
  }

  /**
   * Copy a host file in; chunks that are all zeros stay holes, since the image reads as zeros
   * there. The thread pool reads the next chunk and writes this one while this thread hashes
   * it: on two cores a 400 MB copy then costs about its hashing alone.
   */
  async copyFile(offset: Bytes, path: string, length: Bytes): Promise<void> {
    this.check(offset, length);
    const src = openSync(path, 'r');
    let next: Promise<Buffer> | undefined;
    let writing: Promise<void> | undefined;
    try {
      const fetch = (at: Bytes, buf: Buffer): Promise<Buffer> => readFull(src, path, buf.subarray(0, Math.min(buf.length, length - at)), at, length);
      next = fetch(0, this.bufs[0]);
      for (let done = 0, k = 0; done < length; k++) {
        const chunk: Buffer = await next!;
        // The next read goes into the buffer the previous chunk's write reads from.
        await writing;
        writing = undefined;
        const end: Bytes = done + chunk.length;
        next = end < length ? fetch(end, this.bufs[(k + 1) % 2]) : undefined;
        if (!isZero(chunk)) {
          writing = writeAllAtAsync(this.fd, chunk, offset + done).then(() => this.flushNowAndThen(chunk.length));
          // Awaited after the next read; failing first (a full disk fails at once) it must not
          // count as unhandled meanwhile, which would end the process instead of the build.
          writing.catch(() => undefined);
          this.hasher.add(offset + done, chunk);
          this.note(offset + done, chunk.length);
        }
        done = end;
      }
      await writing;
    } finally {
      // Nothing may still use `src` (or a buffer) when it is closed, whatever failed.
      await Promise.allSettled([next, writing]);
      closeSync(src);
    }
  }

  /** Background flushes started so far (test/builder/image/sparse-file.test.ts holds a copy to them). */
  get flushesStarted(): number {
    return this.flushes;
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

  async close(): Promise<void> {
    try {
      await this.flushing;
      if (this.flushError) throw this.flushError;
      // In the thread pool: build() hashes the blocks written out of order meanwhile.
      await fsyncAsync(this.fd);
    } finally {
      await this.flushing;
      closeSync(this.fd);
    }
  }

  /**
   * Every FLUSH_EVERY bytes copied, start writing back what is dirty (fdatasync in the thread
   * pool) while the copy goes on: the disk then works during the build instead of after it
   * (a 400 MB build's closing fsync took ~0.3 s). close() awaits it and throws its error.
   */
  private flushNowAndThen(written: Bytes): void {
    this.unflushed += written;
    if (this.unflushed < FLUSH_EVERY || this.flushing) return;
    this.unflushed = 0;
    this.flushes++;
    this.flushing = fdatasyncAsync(this.fd)
      .catch((e: unknown) => { this.flushError ??= e; })
      .finally(() => { this.flushing = undefined; });
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

/** Fill `into` from `path` at `at`; the file was `length` bytes when planned. */
async function readFull(fd: number, path: string, into: Buffer, at: Bytes, length: Bytes): Promise<Buffer> {
  for (let done = 0; done < into.length;) {
    const { bytesRead } = await readAsync(fd, into, done, into.length - done, at + done);
    if (bytesRead === 0) throw new Error(`${path}: expected ${length} bytes, the file ended at ${at + done} (did it change during the build?)`);
    done += bytesRead;
  }
  return into;
}
