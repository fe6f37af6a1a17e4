// Writes the extra output formats beside a built raw image: gzip through node:zlib, xz through
// the xz tool (Node has no xz codec and no xz package is installed), qcow2 and vmdk through
// qemu-img, the .bmap from the data ranges the build recorded. Each goes to a temporary name
// and is renamed into place when complete, as the image itself is. gz and xz cost the disk's
// size anyway, so the first of them also yields the image's sha256 (holes included) for the
// manifest: gz hashes the bytes it compresses, xz has it hashed beside it.

import { createReadStream, createWriteStream } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { Transform } from 'node:stream';
import { writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { BankforgeError } from '../../support/errors.js';
import { hashWholeImage } from '../image/hash.js';
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
    const wantSha256 = sha256 === undefined && (format === 'gz' || format === 'xz');
    let digest: string | undefined;
    await writeOutput(out, async (tmp) => { digest = await WRITERS[format](built, tmp, out, wantSha256) ?? undefined; });
    sha256 ??= digest;
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

/**
 * xz's default preset (6) with the hash-chain match finder: on the long zero runs of a disk image
 * the default binary-tree finder spends most of its time for nothing. The default image: 12.3 s
 * of CPU -> 4.9 s, and 549 608 bytes instead of 549 012 (2026-11-30).
 */
const XZ_ARGS = ['--threads=0', '--lzma2=preset=6,mf=hc4', '--stdout'];

/** Each writer resolves with the raw image's sha256 when `wantSha256` asks for it (gz and xz only). */
const WRITERS: Record<Exclude<OutputFormat, 'raw'>, (b: BuiltImage, tmp: string, out: string, wantSha256: boolean) => Promise<string | undefined | void>> = {
  gz: async (b, tmp, _out, wantSha256) => {
    const hash = wantSha256 ? createHash('sha256') : undefined;
    await pipeline(imageStream(b, hash), createGzip({ chunkSize: 1024 * 1024 }), createWriteStream(tmp));
    return hash?.digest('hex');
  },
  // xz reads the file itself: piping 752 MiB of mostly holes through Node cost more CPU than xz's
  // own work. The sha256 is hashed beside it, holes from a zero buffer.
  xz: async (b, tmp, _out, wantSha256) => (await Promise.all([tool('xz', [...XZ_ARGS, b.image], 'xz-utils', tmp), wantSha256 ? hashWholeImage(b.image, b.size, b.dataRanges) : undefined]))[1],
  qcow2: (b, tmp) => tool('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', b.image, tmp], 'qemu-utils'),
  vmdk: async (b, tmp, out) => {
    await tool('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', b.image, tmp], 'qemu-utils');
    await fixVmdkDescriptor(tmp, out, b.sha256 ?? await hashWholeImage(b.image, b.size, b.dataRanges));
  },
  bmap: async (b, tmp) => writeFile(tmp, encodeBmap(await makeBmap(b.image, b.size, b.dataRanges))),
};

async function tool(cmd: string, args: string[], debianPackage: string, stdoutFile?: string): Promise<void> {
  // Imported here: execa is ESM only, and the CLI bundle is CommonJS (scripts/bundle-cli.mjs).
  const { execa } = await import('execa');
  const r = await execa(cmd, args, { reject: false, ...(stdoutFile ? { stdout: { file: stdoutFile } } : {}), stderr: 'pipe', encoding: 'utf8' });
  if ((r as { code?: string }).code === 'ENOENT' || (r.failed && r.exitCode === undefined)) {
    throw new BankforgeError(`${cmd} not found: install the Debian package ${debianPackage}`);
  }
  if (r.exitCode !== 0) throw new BankforgeError(`${cmd} ${args.join(' ')} exited ${r.exitCode}: ${String(r.stderr).trim()}`);
}
