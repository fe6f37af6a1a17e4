// An in-memory ByteSource over a Buffer, for format tests that build or damage bytes directly.

import type { ByteSource } from '../../partitions/sink.js';

export function bufferSource(buf: Buffer): ByteSource {
  return { size: buf.length, read: async (offset, length) => Buffer.from(buf.subarray(offset, offset + length)) };
}
