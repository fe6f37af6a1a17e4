// The block-device layer every state-changing command (upgrade, rollback, mark-good, config set,
// coredump --clear) writes through: an image file or a block device, addressed in bytes, with
// explicit flushes, held under the write lock (write-lock.ts) from open to close. It is an
// interface so that the power-cut harness can wrap it with a recorder (recording.ts) and replay
// every prefix of the writes; nothing above this layer touches a file handle.

import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { BankforgeError } from '../support/errors.js';
import { openFileSource } from './file-source.js';
import { lockForWriting, type WriteLock } from './write-lock.js';
import type { ByteSource } from '../partitions/sink.js';
import type { Bytes } from '../partitions/units.js';

export interface BlockDevice extends ByteSource {
  /** What to call it in messages: the path given by the user. */
  readonly name: string;
  /** Writes whole sectors: `offset` and `data.length` are multiples of the write unit given at open. */
  write(offset: Bytes, data: Uint8Array): Promise<void>;
  /** Returns once everything written so far is on stable storage (fsync): the ordering barrier. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens `path` for reading and writing. The write lock comes first: refused (exit 3, naming the
 * holder) while QEMU or another bankforge has the target; callers read what they decide on
 * through the returned device, under the lock. A block device is opened O_EXCL, which Linux
 * refuses with EBUSY while the device (or a partition of it) is mounted: we never write under a
 * mounted filesystem. `unit` is the sector size; unaligned writes are a bug and throw. It may
 * still be on its way (read from the GPT while the lock's helper starts); if it fails, that is
 * the error, and the lock is let go.
 */
export async function openBlockDevice(path: string, unit: Bytes | Promise<Bytes>): Promise<BlockDevice> {
  const src = await openFileSource(path);
  const size = src.size;
  await src.close();
  const [locked, sized] = await Promise.allSettled([lockForWriting(path), Promise.resolve(unit)]);
  if (sized.status === 'rejected') {
    if (locked.status === 'fulfilled') await locked.value.release();
    throw sized.reason;
  }
  if (locked.status === 'rejected') throw locked.reason;
  const lock = locked.value;
  let fh: FileHandle;
  try {
    const probe = await open(path, 'r');
    const isDev = (await probe.stat()).isBlockDevice();
    await probe.close();
    fh = await open(path, constants.O_RDWR | (isDev ? constants.O_EXCL : 0));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'EBUSY' ? 'it is in use (mounted?); unmount it first' : err.code === 'EACCES' || err.code === 'EROFS' ? 'not writable (run as root, or check the write-protect switch)' : err.message;
    await lock.release();
    throw new BankforgeError(`cannot open ${path} for writing: ${why}`);
  }
  return new FileBlockDevice(path, fh, size, sized.value, lock);
}

class FileBlockDevice implements BlockDevice {
  constructor(readonly name: string, private readonly fh: FileHandle, readonly size: Bytes, private readonly unit: Bytes, private readonly lock: WriteLock) {}

  async read(offset: Bytes, length: Bytes): Promise<Buffer> {
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) break; // a sparse image shorter than its table reads as zeros
      done += bytesRead;
    }
    return buf;
  }

  async write(offset: Bytes, data: Uint8Array): Promise<void> {
    if (offset % this.unit !== 0 || data.length % this.unit !== 0) {
      throw new Error(`${this.name}: write of ${data.length} bytes at byte ${offset} is not whole ${this.unit}-byte sectors`);
    }
    if (offset + data.length > this.size) throw new Error(`${this.name}: write of ${data.length} bytes at byte ${offset} is past the end (${this.size} bytes)`);
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, offset + done);
      done += bytesWritten;
    }
  }

  flush(): Promise<void> {
    return this.fh.sync();
  }

  async close(): Promise<void> {
    try {
      await this.fh.close();
    } finally {
      await this.lock.release();
    }
  }
}
