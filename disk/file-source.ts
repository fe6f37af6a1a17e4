// Random-access reads of an image file (or a block device) as a ByteSource, and its GPT.

import { open, readFile, realpath } from 'node:fs/promises';
import { basename } from 'node:path';
import { BankforgeError } from '../support/errors.js';
import { GptError, readGpt, type GptReadResult } from '../partitions/gpt.js';
import type { ByteSource } from '../partitions/sink.js';
import type { Bytes, SectorSize } from '../partitions/units.js';

export async function openFileSource(path: string): Promise<ByteSource & { close(): Promise<void> }> {
  const fh = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new BankforgeError(`cannot open ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  const st = await fh.stat();
  // A block device reports size 0 through fstat; ask for its end instead.
  const size: Bytes = st.isBlockDevice() ? await blockDeviceSize(path) : st.size;
  return {
    size,
    async read(offset, length) {
      const buf = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buf;
    },
    close: () => fh.close(),
  };
}

async function blockDeviceSize(path: string): Promise<Bytes> {
  // sysfs counts 512-byte units whatever the device's logical sector size.
  const name = basename(await realpath(path));
  const sectors = Number((await readFile(`/sys/class/block/${name}/size`, 'utf8')).trim());
  return sectors * 512;
}

/** The GPT of a target; a damaged or missing table is bad input whose message names the target. */
export async function readTargetGpt(src: ByteSource, name: string, sectorSize?: SectorSize): Promise<GptReadResult> {
  try {
    return await readGpt(src, sectorSize);
  } catch (e) {
    throw e instanceof GptError ? new GptError(`${name}: ${e.message}`) : e;
  }
}
