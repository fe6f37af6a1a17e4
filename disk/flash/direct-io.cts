// Reading a block device with O_DIRECT (past the page cache, so a verify sees what the device
// holds, not what we just wrote into memory) and the aligned buffers that O_DIRECT demands.
//
// O_DIRECT wants the buffer address, the file offset and the length aligned to the device's
// logical block size (and its DMA alignment, 511 on the loop and USB devices measured). Node
// gives no buffer address; an ordinary Buffer of a few MiB comes from malloc's mmap path and
// sits 16 bytes past a page boundary (measured: O_DIRECT read into Buffer.allocUnsafeSlow(1 MiB)
// fails with EINVAL; it succeeds at +496 bytes). V8 backs a WebAssembly.Memory with whole pages
// from the page allocator, so its first byte is page-aligned, which satisfies every device.
// CommonJS (.cts): flash's worker thread reads the device too (block-pass.cts says why CommonJS).

import { closeSync, constants, openSync, readSync } from 'node:fs';
import type { Bytes } from '../../partitions/units.js';

const WASM_PAGE: Bytes = 64 * 1024;

/** A page-aligned buffer of `size` bytes (rounded up to 64 KiB), zero-filled. */
export function alignedBuffer(size: Bytes): Buffer {
  const pages = Math.max(1, Math.ceil(size / WASM_PAGE));
  return Buffer.from(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer, 0, size);
}

/**
 * Fills `into` (from alignedBuffer) from byte `offset` of `fd`, the block device `path` open with
 * O_DIRECT; both must be multiples of its logical block, `blockSize`.
 */
export function readDirect(fd: number, path: string, blockSize: Bytes, into: Buffer, offset: Bytes): void {
  if (offset % blockSize !== 0 || into.length % blockSize !== 0) {
    throw new Error(`${path}: O_DIRECT read of ${into.length} bytes at byte ${offset}: both must be multiples of the ${blockSize}-byte logical block`);
  }
  let done = 0;
  while (done < into.length) {
    let bytesRead: number;
    try {
      bytesRead = readSync(fd, into, done, into.length - done, offset + done);
    } catch (e) {
      throw new Error(`${path}: O_DIRECT read of ${into.length - done} bytes at byte ${offset + done} failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (bytesRead === 0) throw new Error(`${path}: device ended at byte ${offset + done}, expected ${into.length - done} more bytes`);
    done += bytesRead;
  }
}

/** A block device opened read-only with O_DIRECT, read with synchronous calls (support/event-loop-turns.ts says why). */
export class DirectReader {
  private constructor(private readonly fd: number, readonly path: string, readonly blockSize: Bytes) {}

  static open(path: string, blockSize: Bytes): DirectReader {
    return new DirectReader(openSync(path, constants.O_RDONLY | constants.O_DIRECT), path, blockSize);
  }

  /** Fills `into` (from alignedBuffer) from device byte `offset`; both must be block multiples. */
  read(offset: Bytes, into: Buffer): void {
    readDirect(this.fd, this.path, this.blockSize, into, offset);
  }

  close(): void { closeSync(this.fd); }
}
