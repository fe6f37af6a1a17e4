// Test plumbing for the FAT suites: a ByteSink into a sparse file (counting what it writes, so tests can
// prove holes stay holes), and small readers of raw volume bytes.

import { open, truncate, writeFile } from 'node:fs/promises';
import type { ByteSink } from '../../partitions/sink.js';
import type { Bytes } from '../../partitions/units.js';

export interface CountingSink extends ByteSink {
  bytesWritten: Bytes;
  close(): Promise<void>;
}

/** A sink writing at `base` + offset into `path`, which is created sparse with `size` bytes. */
export async function fileSink(path: string, size: Bytes, base: Bytes = 0): Promise<CountingSink> {
  await writeFile(path, '');
  await truncate(path, base + size);
  const fh = await open(path, 'r+');
  const sink: CountingSink = {
    bytesWritten: 0,
    async write(offset, data) {
      if (offset < 0 || offset + data.length > size) throw new Error(`write of ${data.length} at ${offset} outside the ${size}-byte region`);
      await fh.write(data, 0, data.length, base + offset);
      sink.bytesWritten += data.length;
    },
    async copyFile(offset, src, length) {
      if (offset + length > size) throw new Error(`copy of ${length} at ${offset} outside the ${size}-byte region`);
      const from = await open(src, 'r');
      try {
        const buf = Buffer.alloc(1 << 20);
        for (let done = 0; done < length;) {
          const { bytesRead } = await from.read(buf, 0, Math.min(buf.length, length - done), done);
          if (bytesRead === 0) throw new Error(`${src} ended after ${done} of ${length} bytes`);
          await fh.write(buf, 0, bytesRead, base + offset + done);
          done += bytesRead;
        }
        sink.bytesWritten += length;
      } finally {
        await from.close();
      }
    },
    close: () => fh.close(),
  };
  return sink;
}

export async function readRange(path: string, offset: Bytes, length: Bytes): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, offset);
    return buf;
  } finally {
    await fh.close();
  }
}
