// The block-device layer every state-changing command (upgrade, rollback, mark-good, config set,
// coredump --clear) writes through: an image file or a block device, addressed in bytes, with
// explicit flushes, held under the write lock (write-lock.ts) from open to close. It is an
// interface so that the power-cut harness can wrap it with a recorder (recording.ts) and replay
// every prefix of the writes; nothing above this layer touches a file handle.

import { closeSync, constants, fsyncSync, openSync, statSync } from 'node:fs';
import { writeAllAt } from '../support/write-all.js';
import { BankforgeError } from '../support/errors.js';
import { checkTarget, readFully } from './file-source.js';
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
  const size = checkTarget(path);
  const [locked, sized] = await Promise.allSettled([lockForWriting(path), Promise.resolve(unit)]);
  if (sized.status === 'rejected') {
    if (locked.status === 'fulfilled') await locked.value.release();
    throw sized.reason;
  }
  if (locked.status === 'rejected') throw locked.reason;
  const lock = locked.value;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | (statSync(path).isBlockDevice() ? constants.O_EXCL : 0));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'EBUSY' ? 'it is in use (mounted?); unmount it first' : err.code === 'EACCES' || err.code === 'EROFS' ? 'not writable (run as root, or check the write-protect switch)' : err.message;
    await lock.release();
    throw new BankforgeError(`cannot open ${path} for writing: ${why}`);
  }
  return new FileBlockDevice(path, fd, size, sized.value, lock);
}

/**
 * Synchronous calls behind the async interface: every caller waits for each read, write and flush
 * before the next (the order is the design), so the thread pool would only add its 50-100 µs a
 * call on these machines; the writes' and fsyncs' own time is the same on either thread.
 */
class FileBlockDevice implements BlockDevice {
  private closed = false;

  constructor(readonly name: string, private readonly descriptor: number, readonly size: Bytes, private readonly unit: Bytes, private readonly lock: WriteLock) {}

  /** A closed descriptor's number may already name another file this process opened since. */
  private get fd(): number {
    if (this.closed) throw new Error(`${this.name}: used after close`);
    return this.descriptor;
  }

  async read(offset: Bytes, length: Bytes): Promise<Buffer> {
    return readFully(this.fd, offset, length);
  }

  async write(offset: Bytes, data: Uint8Array): Promise<void> {
    if (offset % this.unit !== 0 || data.length % this.unit !== 0) {
      throw new Error(`${this.name}: write of ${data.length} bytes at byte ${offset} is not whole ${this.unit}-byte sectors`);
    }
    if (offset + data.length > this.size) throw new Error(`${this.name}: write of ${data.length} bytes at byte ${offset} is past the end (${this.size} bytes)`);
    writeAllAt(this.fd, data, offset);
  }

  async flush(): Promise<void> {
    fsyncSync(this.fd);
  }

  async close(): Promise<void> {
    try {
      if (!this.closed) closeSync(this.descriptor);
      this.closed = true;
    } finally {
      await this.lock.release();
    }
  }
}
