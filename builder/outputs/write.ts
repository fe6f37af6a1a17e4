// Writes the extra output formats beside a built raw image: gzip through node:zlib, xz through
// the xz tool (Node has no xz codec and no xz package is installed), qcow2 and vmdk through
// qemu-img, the .bmap from the data ranges the build recorded. Each goes to a temporary name
// and is renamed into place when complete, as the image itself is.

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

export interface BuiltImage { image: string; size: Bytes; dataRanges: readonly Range[] }

/** Writes every format but raw (already there); returns the files written, in order. */
export async function writeOutputs(built: BuiltImage, formats: readonly OutputFormat[], step: (msg: string) => void): Promise<string[]> {
  const written: string[] = [];
  for (const format of formats) {
    if (format === 'raw') continue;
    const out = outputPath(built.image, format);
    step(`writing ${out}`);
    await writeOutput(out, (tmp) => WRITERS[format](built, tmp));
    written.push(out);
  }
  return written;
}

const WRITERS: Record<Exclude<OutputFormat, 'raw'>, (b: BuiltImage, tmp: string) => Promise<void>> = {
  gz: (b, tmp) => pipeline(createReadStream(b.image, { highWaterMark: 1024 * 1024 }), createGzip({ chunkSize: 1024 * 1024 }), createWriteStream(tmp)),
  xz: (b, tmp) => tool('xz', ['--threads=0', '--stdout', b.image], 'xz-utils', tmp),
  qcow2: (b, tmp) => tool('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', b.image, tmp], 'qemu-utils'),
  vmdk: (b, tmp) => tool('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', b.image, tmp], 'qemu-utils'),
  bmap: async (b, tmp) => writeFile(tmp, encodeBmap(await makeBmap(b.image, b.size, b.dataRanges))),
};

async function tool(cmd: string, args: string[], debianPackage: string, stdoutFile?: string): Promise<void> {
  const r = await execa(cmd, args, { reject: false, ...(stdoutFile ? { stdout: { file: stdoutFile } } : {}), stderr: 'pipe', encoding: 'utf8' });
  if ((r as { code?: string }).code === 'ENOENT' || (r.failed && r.exitCode === undefined)) {
    throw new BankforgeError(`${cmd} not found: install the Debian package ${debianPackage}`);
  }
  if (r.exitCode !== 0) throw new BankforgeError(`${cmd} ${args.join(' ')} exited ${r.exitCode}: ${String(r.stderr).trim()}`);
}
