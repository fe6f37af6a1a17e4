// The interface through which format writers (GPT, FAT, raw) put bytes on a disk image.
// Writers address their own region from 0; the image writer translates to disk offsets, so a
// writer never needs to know where its partition lives or whether the target is a file or a device.

import type { Bytes } from './units.js';

export interface ByteSink {
  /** Write `data` at `offset` bytes from the start of the region. */
  write(offset: Bytes, data: Uint8Array): Promise<void>;
  /** Copy the first `length` bytes of the host file `path` to `offset`, without holding it all in memory. */
  copyFile(offset: Bytes, path: string, length: Bytes): Promise<void>;
}

/** Random-access reads of a region (a partition of an image, a whole image, a device). */
export interface ByteSource {
  readonly size: Bytes;
  read(offset: Bytes, length: Bytes): Promise<Buffer>;
  /**
   * `count` runs of `length` bytes, the i-th at `offset + i * stride`, packed into one buffer (the
   * i-th at `i * length`). Optional (readSpaced below falls back to one read() each): a file gives
   * it so that scanning fixed-size slots, the core-dump headers every `status` reads (about a
   * hundred), costs one call instead of an await and a buffer per slot.
   */
  readSpaced?(offset: Bytes, stride: Bytes, count: number, length: Bytes): Promise<Buffer>;
}

/** ByteSource.readSpaced of any source. */
export async function readSpaced(src: ByteSource, offset: Bytes, stride: Bytes, count: number, length: Bytes): Promise<Buffer> {
  if (src.readSpaced) return src.readSpaced(offset, stride, count, length);
  const out = Buffer.alloc(count * length);
  for (let i = 0; i < count; i++) out.set(await src.read(offset + i * stride, length), i * length);
  return out;
}
