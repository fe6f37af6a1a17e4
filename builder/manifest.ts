// The JSON manifest written beside every image: what went in (layout, version, inputs) and what
// came out (geometry, GUIDs, and the image's bytes as a list of block hashes with its holes
// declared; the whole image's sha256 only when asked for or when a compressed output read every
// byte anyway). docs/manifest.md is the spec; readImageManifest is the one reader.

import { writeFile } from 'node:fs/promises';
import type { Bytes, Lba, SectorSize } from '../partitions/units.js';
import { writeOutput } from '../support/output-file.js';
import { BankforgeError } from '../support/errors.js';
import { readUntrustedJsonFile } from '../support/untrusted-json.js';
import { blockCount, type BlockList } from './image/blocks.js';

/** Format 1 had a sha256 of the whole image and of each partition, holes included; 2 has blocks. */
export const MANIFEST_FORMAT = 2;
const READABLE_FORMATS = [1, 2] as const;

/**
 * About 67 bytes (a quoted digest) per 256 KiB data block: 128 MiB of manifest describe some
 * 480 GiB of data, and bound what a hostile one costs to parse.
 */
const MANIFEST_MAX_BYTES = 128 * 1024 * 1024;

export interface ManifestPartition {
  /** GPT partition number, 1-based as sgdisk and Linux count. */
  number: number;
  name: string;
  gptName: string;
  type: string;
  typeGuid: string;
  guid: string;
  filesystem: string;
  label?: string;
  firstLba: Lba;
  lastLba: Lba;
  offset: Bytes;
  size: Bytes;
  /** Files placed in a FAT partition, or the raw content file, with their sizes. */
  files: { path: string; size: Bytes }[];
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  tool: { name: 'bankforge'; version: string };
  version: string;
  layout: { name: string; sha256: string };
  seed: string;
  sourceDateEpoch: number;
  sectorSize: SectorSize;
  diskSize: Bytes;
  diskGuid: string;
  /** `sha256` of every byte, holes included: only with `build --sha256` or a gz/xz output. */
  image: { file: string; size: Bytes; sha256?: string };
  blocks: BlockList;
  partitions: ManifestPartition[];
}

/** Where the manifest of `image` lives: esxi.img -> esxi.manifest.json. */
export function manifestPathFor(image: string): string {
  return image.replace(/(\.[^./]*)?$/, '.manifest.json');
}

/** The manifest's text as written. */
export function manifestText(m: Manifest): string {
  // Each block run on one line: a 400 MiB image stays a few hundred lines, still readable in a diff.
  const runs = m.blocks.runs.map((r) => `      ${JSON.stringify(r)}`).join(',\n');
  const text = JSON.stringify({ ...m, blocks: { ...m.blocks, runs: '\0runs' } }, null, 2).replace('"\\u0000runs"', `[\n${runs}\n    ]`);
  return `${text}\n`;
}

export async function writeManifest(path: string, m: Manifest): Promise<void> {
  await writeOutput(path, (tmp) => writeFile(tmp, manifestText(m)));
}

/** What a reader of an image takes from its manifest: the bytes it may hold the image against. */
export interface ImageManifest {
  path: string;
  format: 1 | 2;
  file: string;
  size: Bytes;
  /** Whole-image sha256: always in format 1, on request in format 2. */
  sha256: string | undefined;
  /** Format 2. */
  blocks: BlockList | undefined;
}

/** The manifest cannot be used; the message says why (a reader notes it and goes on without). */
export class ManifestError extends BankforgeError {}

/** Reads and checks a manifest of format 1 or 2; any other format or shape is a ManifestError naming the field. */
export async function readImageManifest(path: string): Promise<ImageManifest> {
  const value = (await readUntrustedJsonFile(path, { maxBytes: MANIFEST_MAX_BYTES, maxDepth: 32 }, 'manifest')).value;
  const fail = (field: string, msg: string): never => { throw new ManifestError(`${path}: ${field}: ${msg}`); };
  if (!isObject(value)) return fail('(top level)', 'not a JSON object');
  const format = value.format;
  if (!READABLE_FORMATS.includes(format as 1 | 2)) {
    return fail('format', typeof format === 'number' && format > MANIFEST_FORMAT
      ? `${format} is newer than this bankforge reads (${READABLE_FORMATS.join(', ')}); upgrade bankforge`
      : `expected ${READABLE_FORMATS.join(' or ')}, found ${JSON.stringify(format)}`);
  }
  const image = value.image;
  if (!isObject(image)) return fail('image', 'missing or not an object');
  if (typeof image.file !== 'string') fail('image.file', 'missing or not a string');
  if (!Number.isSafeInteger(image.size) || (image.size as number) < 0) fail('image.size', `expected a byte count, found ${JSON.stringify(image.size)}`);
  const size = image.size as number;
  const sha256 = image.sha256;
  if (sha256 !== undefined && !isDigest(sha256)) fail('image.sha256', 'not a sha256 in hex');
  if (format === 1) {
    if (sha256 === undefined) fail('image.sha256', 'missing (format 1 always has it)');
    return { path, format: 1, file: image.file as string, size, sha256: sha256 as string, blocks: undefined };
  }
  return { path, format: 2, file: image.file as string, size, sha256: sha256 as string | undefined, blocks: checkBlocks(value.blocks, size, fail) };
}

function checkBlocks(v: unknown, imageSize: Bytes, fail: (field: string, msg: string) => never): BlockList {
  if (!isObject(v)) return fail('blocks', 'missing or not an object');
  const size = v.size;
  if (!Number.isSafeInteger(size) || (size as number) < 512 || (size as number) % 512 !== 0) fail('blocks.size', `expected a multiple of 512 bytes, found ${JSON.stringify(size)}`);
  if (!isDigest(v.zeroSha256)) fail('blocks.zeroSha256', 'not a sha256 in hex');
  if (!Array.isArray(v.runs)) return fail('blocks.runs', 'missing or not an array');
  const total = blockCount(imageSize, size as number);
  let next = 0;
  const runs = v.runs.map((r: unknown, i: number) => {
    const field = `blocks.runs[${i}]`;
    if (!isObject(r)) return fail(field, 'not an object');
    if (r.first !== next) fail(`${field}.first`, `expected ${next} (runs cover every block in order), found ${JSON.stringify(r.first)}`);
    if (!Number.isSafeInteger(r.count) || (r.count as number) < 1 || next + (r.count as number) > total) fail(`${field}.count`, `expected 1..${total - next} (the image has ${total} blocks), found ${JSON.stringify(r.count)}`);
    next += r.count as number;
    if (r.sha256 === undefined) return { first: r.first as number, count: r.count as number };
    if (!Array.isArray(r.sha256) || r.sha256.length !== r.count || !r.sha256.every(isDigest)) fail(`${field}.sha256`, `expected ${r.count as number} sha256s in hex`);
    return { first: r.first as number, count: r.count as number, sha256: r.sha256 as string[] };
  });
  if (next !== total) fail('blocks.runs', `cover ${next} of the image's ${total} blocks`);
  return { size: size as number, zeroSha256: v.zeroSha256 as string, runs };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isDigest(v: unknown): v is string {
  return typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
}
