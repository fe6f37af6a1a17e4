// Reading a block device with O_DIRECT (past the page cache, so a verify sees what the device
// holds, not what we just wrote into memory) and the aligned buffers that O_DIRECT demands.
//
// O_DIRECT wants the buffer address, the file offset and the length aligned to the device's
// logical block size (and its DMA alignment, 511 on the loop and USB devices measured). Node
// gives no buffer address; an ordinary Buffer of a few MiB comes from malloc's mmap path and
// sits 16 bytes past a page boundary (measured: O_DIRECT read into Buffer.allocUnsafeSlow(1 MiB)
// fails with EINVAL; it succeeds at +496 bytes). V8 backs a WebAssembly.Memory with whole pages
// from the page allocator, so its first byte is page-aligned, which satisfies every device.

import { constants, type PathLike } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Bytes } from '../../partitions/units.js';

const WASM_PAGE: Bytes = 64 * 1024;

/** A page-aligned buffer of `size` bytes (rounded up to 64 KiB), zero-filled. */
export function alignedBuffer(size: Bytes): Buffer {
  const pages = Math.max(1, Math.ceil(size / WASM_PAGE));
  return Buffer.from(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer, 0, size);
}

let zeroPage: Buffer | undefined;

/** A shared, never-written aligned buffer of zeros (at least `size` bytes): one allocation, not one per use. */
export function alignedZeros(size: Bytes): Buffer {
  if (!zeroPage || zeroPage.length < size) zeroPage = alignedBuffer(size);
  return zeroPage.subarray(0, size);
}

/** A block device opened read-only with O_DIRECT. */
export class DirectReader {
  private constructor(private readonly fh: FileHandle, readonly path: string, readonly blockSize: Bytes) {}

  static async open(path: PathLike, blockSize: Bytes): Promise<DirectReader> {
    const fh = await open(path, constants.O_RDONLY | constants.O_DIRECT);
    return new DirectReader(fh, String(path), blockSize);
  }

  /** Fills `into` (from alignedBuffer) from device byte `offset`; both must be block multiples. */
  async read(offset: Bytes, into: Buffer): Promise<void> {
    if (offset % this.blockSize !== 0 || into.length % this.blockSize !== 0) {
      throw new Error(`${this.path}: O_DIRECT read of ${into.length} bytes at byte ${offset}: both must be multiples of the ${this.blockSize}-byte logical block`);
    }
    let done = 0;
    while (done < into.length) {
      const { bytesRead } = await this.fh.read(into, done, into.length - done, offset + done).catch((e: NodeJS.ErrnoException) => {
        throw new Error(`${this.path}: O_DIRECT read of ${into.length - done} bytes at byte ${offset + done} failed: ${e.code ?? e.message}`);
      });
      if (bytesRead === 0) throw new Error(`${this.path}: device ended at byte ${offset + done}, expected ${into.length - done} more bytes`);
      done += bytesRead;
    }
  }

  close(): Promise<void> { return this.fh.close(); }
}
