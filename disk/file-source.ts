// Random-access reads of an image file (or a block device) as a ByteSource, and its GPT.

import { closeSync, openSync, readFileSync, readSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename } from 'node:path';
import { BankforgeError, EXIT } from '../support/errors.js';
import { EventLoopTurns } from '../support/event-loop-turns.js';
import { CONTAINER_PROBE_BYTES, TEXT_PROBE_BYTES, containerOf, isTextFile } from './container.js';
import { GptError, readGpt, type GptReadResult } from '../partitions/gpt.js';
import type { ByteSource } from '../partitions/sink.js';
import type { Bytes, SectorSize } from '../partitions/units.js';

/**
 * Opens a target (an image file or a block device) for reading: the one place every command that
 * works on an existing image or device goes through (device.ts opens for writing after this).
 * Anything else is refused for what it is, before it is opened: a directory, a FIFO (opening it
 * would wait for a writer forever), a socket, a character device; and a compressed image or a VM
 * disk, which would otherwise be read as a disk without a partition table; an empty or a text file.
 */
export async function openFileSource(path: string): Promise<ByteSource & { close(): Promise<void> }> {
  const { fd, size } = openChecked(path);
  // A closed descriptor's number may already name another file this process opened since.
  let closed = false;
  const live = (): number => {
    if (closed) throw new Error(`${path}: read after close`);
    return fd;
  };
  // Reads are synchronous: a long scan (a whole-image check, a dump extracted) still lets a
  // signal handler run (support/event-loop-turns.ts).
  const turns = new EventLoopTurns();
  return {
    size,
    read: async (offset, length) => {
      const buf = readFully(live(), offset, length);
      await turns.after();
      return buf;
    },
    readSpaced: async (offset, stride, count, length) => {
      const buf = Buffer.alloc(count * length);
      for (let i = 0; i < count; i++) {
        readInto(live(), buf, i * length, length, offset + i * stride);
        // Up to 4096 seeks on a slow stick: Ctrl-C is still answered between them.
        if (turns.due()) await turns.after();
      }
      return buf;
    },
    close: async () => {
      if (!closed) closeSync(fd);
      closed = true;
    },
  };
}

/**
 * openFileSource's checks, done before it returns, and the target's size: openBlockDevice checks
 * its target this way so that the write lock's helper starts in the same turn, before anything
 * else the caller has begun gets to run.
 */
export function checkTarget(path: string): Bytes {
  const { fd, size } = openChecked(path);
  closeSync(fd);
  return size;
}

// Synchronous calls throughout: a command reads a few sectors of its target and waits for each,
// and a trip through libuv's thread pool costs 50-100 µs on these machines against 5-10 µs here.
function openChecked(path: string): { fd: number; size: Bytes } {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new BankforgeError(`cannot open ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, EXIT.input, { file: path });
  }
  if (!st.isFile() && !st.isBlockDevice()) throw new BankforgeError(`${path} is ${kindOf(st)}, not a disk image or a block device`, EXIT.input, { file: path });
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new BankforgeError(`cannot open ${path}: ${(e as Error).message}`, EXIT.input, { file: path });
  }
  try {
    // A block device reports size 0 through fstat; ask for its end instead.
    const size: Bytes = st.isBlockDevice() ? blockDeviceSize(path) : st.size;
    if (st.isFile()) {
      if (size === 0) throw new BankforgeError(`${path} is empty, not a disk image`, EXIT.input, { file: path });
      const head = readFully(fd, 0, Math.min(size, Math.max(CONTAINER_PROBE_BYTES, TEXT_PROBE_BYTES)));
      const hit = containerOf(head);
      if (hit?.compression) throw new BankforgeError(`${path} is a compressed image (${hit.compression}): decompress it first`, EXIT.input, { file: path });
      if (hit) throw new BankforgeError(`${path} is not a raw disk image: it is ${hit.what}`, EXIT.input, { file: path });
      if (isTextFile(head)) throw new BankforgeError(`${path} is a text file, not a disk image`, EXIT.input, { file: path });
    }
    return { fd, size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** `length` bytes at `offset` of an open file; past its end (a sparse image shorter than its table) reads as zeros. */
export function readFully(fd: number, offset: Bytes, length: Bytes): Buffer {
  const buf = Buffer.alloc(length);
  readInto(fd, buf, 0, length, offset);
  return buf;
}

/** readFully into `buf` at `at`, which is zeros already. */
function readInto(fd: number, buf: Buffer, at: number, length: Bytes, offset: Bytes): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, at + done, length - done, offset + done);
    if (n === 0) break;
    done += n;
  }
}

/** Runs `use` on `path` opened by openFileSource, and closes it however `use` ends. */
export async function withFileSource<T>(path: string, use: (src: ByteSource) => Promise<T>): Promise<T> {
  const src = await openFileSource(path);
  try {
    return await use(src);
  } finally {
    await src.close();
  }
}

function kindOf(st: Stats): string {
  return st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO (named pipe)' : st.isSocket() ? 'a socket' : st.isCharacterDevice() ? 'a character device' : 'not a regular file';
}

function blockDeviceSize(path: string): Bytes {
  // sysfs counts 512-byte units whatever the device's logical sector size.
  const name = basename(realpathSync(path));
  const sectors = Number(readFileSync(`/sys/class/block/${name}/size`, 'utf8').trim());
  return sectors * 512;
}

/** The GPT of a target (readGpt); a damaged or missing table is bad input whose message names the target. */
export async function readTargetGpt(src: ByteSource, name: string, sectorSize?: SectorSize, opts: { primaryOnly?: boolean } = {}): Promise<GptReadResult> {
  try {
    return await readGpt(src, sectorSize, opts);
  } catch (e) {
    throw e instanceof GptError ? new GptError(`${name}: ${e.message}`) : e;
  }
}
