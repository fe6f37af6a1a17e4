// Reading an image forward, whatever it is stored as: a raw file (read where asked, holes
// skipped for free) or a compressed stream decompressed on the fly (gzip with node:zlib; xz
// and zstd through their command-line tools, since Node 20 has neither codec and no package
// for them is installed). A stream can only go forward: skipping decompresses and discards.

import { spawn } from 'node:child_process';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pipeline } from 'node:stream/promises';
import { BankforgeError } from '../../support/errors.js';
import type { Bytes } from '../../partitions/units.js';

export type Compression = 'none' | 'gzip' | 'xz' | 'zstd';

export interface ImageReader {
  /** Fills `into` with the image's bytes from `offset`. A stream reader only goes forward. */
  read(offset: Bytes, into: Buffer): Promise<void>;
  close(): Promise<void>;
}

const STREAM_CHUNK: Bytes = 1024 * 1024;

export async function openReader(path: string, compression: Compression): Promise<ImageReader> {
  if (compression === 'none') return fileReader(path);
  if (compression === 'gzip') {
    // Loaded here: node:zlib is a millisecond of every flash of a raw image otherwise.
    const { createGunzip } = createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib');
    const gunzip = createGunzip({ chunkSize: STREAM_CHUNK });
    const done = pipeline(createReadStream(path, { highWaterMark: STREAM_CHUNK }), gunzip);
    done.catch(() => undefined); // the error reaches the reader through gunzip
    return new StreamReader(path, 'gzip', gunzip[Symbol.asyncIterator](), async () => { gunzip.destroy(); await done.catch(() => undefined); });
  }
  const [cmd, pkg] = compression === 'xz' ? ['xz', 'xz-utils'] : ['zstd', 'zstd'];
  // node:child_process rather than execa: execa's stdout, read slowly chunk by chunk while the
  // device is written, lost data here (the stream ended megabytes early); a plain pipe does not.
  const sub = spawn(cmd, ['--decompress', '--stdout', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  sub.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4096); });
  const ended = new Promise<void>((resolve, reject) => {
    sub.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new BankforgeError(`${cmd} not found: ${path} is ${compression}-compressed; install the Debian package ${pkg}`) : e));
    sub.once('close', (code, signal) => {
      if (code === 0 || signal === 'SIGTERM') resolve();
      else reject(new BankforgeError(`${cmd} --decompress ${path} exited ${code ?? signal}: ${stderr.trim()}`));
    });
  });
  ended.catch(() => undefined);
  // Stopping early: the unread pipe is destroyed too, so nothing waits on it.
  const stop = async (): Promise<void> => { sub.kill('SIGTERM'); sub.stdout.destroy(); await ended.catch(() => undefined); };
  return new StreamReader(path, compression, sub.stdout[Symbol.asyncIterator](), stop, ended);
}

/** Synchronous reads behind the async interface a stream needs (support/event-loop-turns.ts says why). */
async function fileReader(path: string): Promise<ImageReader> {
  const fd = openSync(path, 'r');
  return {
    async read(offset, into) {
      let done = 0;
      while (done < into.length) {
        const bytesRead = readSync(fd, into, done, into.length - done, offset + done);
        if (bytesRead === 0) throw new BankforgeError(`${path}: ended at byte ${offset + done}, expected ${into.length - done} more bytes (did it change while flashing?)`);
        done += bytesRead;
      }
    },
    async close() { closeSync(fd); },
  };
}

class StreamReader implements ImageReader {
  private pos: Bytes = 0;
  private pending: Buffer | undefined;

  constructor(
    private readonly path: string,
    private readonly kind: Compression,
    private readonly chunks: AsyncIterator<Buffer>,
    private readonly stop: () => Promise<void>,
    /** Settles when the decompressor exits; rejects with its complaint. */
    private readonly exited?: Promise<void>,
  ) {}

  async read(offset: Bytes, into: Buffer): Promise<void> {
    if (offset < this.pos) throw new Error(`${this.path}: ${this.kind} stream is at byte ${this.pos}; cannot go back to ${offset}`);
    let skip = offset - this.pos;
    let filled = 0;
    while (filled < into.length) {
      const chunk = await this.next(offset + filled);
      const drop = Math.min(skip, chunk.length);
      skip -= drop;
      const take = Math.min(chunk.length - drop, into.length - filled);
      if (skip === 0) { chunk.copy(into, filled, drop, drop + take); filled += take; }
      this.pos += drop + take;
      this.pending = drop + take < chunk.length ? chunk.subarray(drop + take) : undefined;
    }
  }

  /** Reads to the end; the byte count. */
  async count(): Promise<Bytes> {
    for (;;) {
      const r = this.pending ? { done: false, value: this.pending } : await this.pull();
      this.pending = undefined;
      if (r.done) { await this.exited; return this.pos; }
      this.pos += r.value.length;
    }
  }

  private async next(wanted: Bytes): Promise<Buffer> {
    if (this.pending) return this.pending;
    const r = await this.pull();
    if (r.done) {
      await this.exited;
      throw new BankforgeError(`${this.path}: the ${this.kind} stream ends at byte ${this.pos}; byte ${wanted} was expected (truncated download?)`);
    }
    return r.value;
  }

  /** The next chunk; a decompressor's complaint (zlib's "unexpected end of file") is the file's fault. */
  private pull(): Promise<IteratorResult<Buffer>> {
    return this.chunks.next().catch((e: Error) => { throw new BankforgeError(`${this.path}: ${this.kind} stream is damaged at byte ${this.pos} of its output: ${e.message}`); });
  }

  close(): Promise<void> { return this.stop(); }
}

/** The decompressed size of a stream, by decompressing it once (when no .bmap or manifest says). */
export async function streamSize(path: string, compression: Exclude<Compression, 'none'>): Promise<Bytes> {
  const r = await openReader(path, compression) as StreamReader;
  try {
    return await r.count();
  } finally {
    await r.close();
  }
}
