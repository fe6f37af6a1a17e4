// Writes the extra output formats beside a built raw image: gzip through node:zlib, xz through
// the xz tool (Node has no xz codec and no xz package is installed), qcow2 and vmdk through
// qemu-img, the .bmap from the data ranges the build recorded. Each goes to a temporary name
// and is renamed into place when complete, as the image itself is. gz and xz read every byte of
// the image anyway, so the first of them also yields its sha256 (holes included) for the manifest.

import { createReadStream, createWriteStream } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { Transform } from 'node:stream';
import { writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
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

export interface WrittenOutputs {
  /** The files written, in order. */
  files: string[];
  /** The raw image's sha256, when a gz or xz output streamed every byte of it. */
  sha256: string | undefined;
}

/** Writes every format but raw (already there). */
export async function writeOutputs(built: BuiltImage, formats: readonly OutputFormat[], step: (msg: string) => void): Promise<WrittenOutputs> {
  const files: string[] = [];
  let sha256: string | undefined;
  for (const format of formats) {
    if (format === 'raw') continue;
    const out = outputPath(built.image, format);
    step(`${format === 'gz' || format === 'xz' ? 'compressing' : format === 'bmap' ? 'mapping' : 'converting'} ${built.image} to ${out}`);
    const hash = sha256 === undefined && (format === 'gz' || format === 'xz') ? createHash('sha256') : undefined;
    await writeOutput(out, (tmp) => WRITERS[format](built, tmp, out, hash));
    if (hash) sha256 = hash.digest('hex');
    files.push(out);
  }
  return { files, sha256 };
}

const READ = { highWaterMark: 1024 * 1024 };

/** The image's bytes, fed to `hash` on their way through. */
function imageStream(b: BuiltImage, hash: Hash | undefined): NodeJS.ReadableStream {
  const src = createReadStream(b.image, READ);
  if (!hash) return src;
  return src.pipe(new Transform({ transform(chunk: Buffer, _enc, done) { hash.update(chunk); done(null, chunk); } }));
}

const WRITERS: Record<Exclude<OutputFormat, 'raw'>, (b: BuiltImage, tmp: string, out: string, hash: Hash | undefined) => Promise<void>> = {
  gz: (b, tmp, _out, hash) => pipeline(imageStream(b, hash), createGzip({ chunkSize: 1024 * 1024 }), createWriteStream(tmp)),
  xz: (b, tmp, _out, hash) => hash
    ? tool('xz', ['--threads=0', '--stdout', '-'], 'xz-utils', tmp, imageStream(b, hash))
    : tool('xz', ['--threads=0', '--stdout', b.image], 'xz-utils', tmp),
  qcow2: (b, tmp) => tool('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', b.image, tmp], 'qemu-utils'),
  vmdk: async (b, tmp, out) => {
    await tool('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', b.image, tmp], 'qemu-utils');
    await fixVmdkDescriptor(tmp, out, b.sha256 ?? await sha256File(b.image));
  },
  bmap: async (b, tmp) => writeFile(tmp, encodeBmap(await makeBmap(b.image, b.size, b.dataRanges))),
};

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, READ)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function tool(cmd: string, args: string[], debianPackage: string, stdoutFile?: string, stdin?: NodeJS.ReadableStream): Promise<void> {
  // Imported here: execa is ESM only, and the CLI bundle is CommonJS (scripts/bundle-cli.mjs).
  const { execa } = await import('execa');
  const proc = execa(cmd, args, { reject: false, ...(stdoutFile ? { stdout: { file: stdoutFile } } : {}), ...(stdin ? { stdin: 'pipe' as const } : {}), stderr: 'pipe', encoding: 'utf8' });
  if (stdin) {
    // A tool that dies early closes its stdin: the exit status below says why, not EPIPE.
    await pipeline(stdin, proc.stdin!).catch(() => undefined);
  }
  const r = await proc;
  if ((r as { code?: string }).code === 'ENOENT' || (r.failed && r.exitCode === undefined)) {
    throw new BankforgeError(`${cmd} not found: install the Debian package ${debianPackage}`);
  }
  if (r.exitCode !== 0) throw new BankforgeError(`${cmd} ${args.join(' ')} exited ${r.exitCode}: ${String(r.stderr).trim()}`);
}
