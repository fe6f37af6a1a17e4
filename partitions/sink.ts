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
}
