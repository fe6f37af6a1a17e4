// Writes the extra output formats beside a built raw image: gzip through node:zlib, xz through
// the xz tool (Node has no xz codec and no xz package is installed), qcow2 and vmdk through
// qemu-img, the .bmap from the data ranges the build recorded. Each goes to a temporary name
// and is renamed into place when complete, as the image itself is.

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { execa } from 'execa';
import { BankforgeError } from '../../support/errors.js';
import type { Range } from '../image/sparse-file.js';
import type { Bytes } from '../../partitions/units.js';
import { encodeBmap, makeBmap } from './bmap.js';
import { outputPath, type OutputFormat } from './formats.js';
import { writeOutput } from '../../support/output-file.js';
import { fixVmdkDescriptor } from './vmdk.js';

export interface BuiltImage {
  image: string;
  size: Bytes;
  dataRanges: readonly Range[];
  /** The raw image's sha256 (hex), as the manifest records it; hashed from the file when absent. */
  sha256?: string;
}

/** Writes every format but raw (already there); returns the files written, in order. */
export async function writeOutputs(built: BuiltImage, formats: readonly OutputFormat[], step: (msg: string) => void): Promise<string[]> {
  const written: string[] = [];
  for (const format of formats) {
    if (format === 'raw') continue;
    const out = outputPath(built.image, format);
    step(`${format === 'gz' || format === 'xz' ? 'compressing' : format === 'bmap' ? 'mapping' : 'converting'} ${built.image} to ${out}`);
    await writeOutput(out, (tmp) => WRITERS[format](built, tmp, out));
    written.push(out);
  }
  return written;
}

const WRITERS: Record<Exclude<OutputFormat, 'raw'>, (b: BuiltImage, tmp: string, out: string) => Promise<void>> = {
  gz: (b, tmp) => pipeline(createReadStream(b.image, { highWaterMark: 1024 * 1024 }), createGzip({ chunkSize: 1024 * 1024 }), createWriteStream(tmp)),
  xz: (b, tmp) => tool('xz', ['--threads=0', '--stdout', b.image], 'xz-utils', tmp),
  qcow2: (b, tmp) => tool('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', b.image, tmp], 'qemu-utils'),
  vmdk: async (b, tmp, out) => {
    await tool('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', b.image, tmp], 'qemu-utils');
    await fixVmdkDescriptor(tmp, out, b.sha256 ?? await sha256File(b.image));
  },
  bmap: async (b, tmp) => writeFile(tmp, encodeBmap(await makeBmap(b.image, b.size, b.dataRanges))),
};

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function tool(cmd: string, args: string[], debianPackage: string, stdoutFile?: string): Promise<void> {
  const r = await execa(cmd, args, { reject: false, ...(stdoutFile ? { stdout: { file: stdoutFile } } : {}), stderr: 'pipe', encoding: 'utf8' });
  if ((r as { code?: string }).code === 'ENOENT' || (r.failed && r.exitCode === undefined)) {
    throw new BankforgeError(`${cmd} not found: install the Debian package ${debianPackage}`);
  }
  if (r.exitCode !== 0) throw new BankforgeError(`${cmd} ${args.join(' ')} exited ${r.exitCode}: ${String(r.stderr).trim()}`);
}
