// bmaptool's block map, format 2.0: which 4 KiB blocks of a raw image hold data, with a sha256
// per range, so `bmaptool copy` and `bankforge flash` write only those blocks and check them.
// Written from the data ranges the build recorded; parsed back by `bankforge flash`.
// Format: https://github.com/yoctoproject/bmaptool (docs/README.md, "The bmap file format").

import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Range } from '../image/sparse-file.js';
import type { Bytes } from '../../partitions/units.js';
import { BankforgeError } from '../../support/errors.js';

export const BMAP_BLOCK_SIZE: Bytes = 4096;
const CHECKSUM_ZEROS = '0'.repeat(64);

/** Blocks `first`..`last` (inclusive, as the file writes them) and the sha256 of their bytes. */
export interface BmapRange { first: number; last: number; sha256: string }

export interface Bmap {
  imageSize: Bytes;
  blockSize: Bytes;
  blocksCount: number;
  mappedBlocksCount: number;
  ranges: BmapRange[];
}

/** bmaptool's convention: the map of esxi.img is esxi.img.bmap (also found for esxi.img.xz). */
export function bmapPathFor(image: string): string {
  return `${image}.bmap`;
}

/** Byte ranges rounded out to whole blocks, merged, as inclusive block numbers. */
export function blockRanges(data: readonly Range[], imageSize: Bytes, blockSize: Bytes = BMAP_BLOCK_SIZE): { first: number; last: number }[] {
  const out: { first: number; last: number }[] = [];
  const sorted = [...data].filter((r) => r.length > 0).sort((a, b) => a.offset - b.offset);
  for (const r of sorted) {
    const first = Math.floor(r.offset / blockSize);
    const last = Math.min(Math.ceil((r.offset + r.length) / blockSize), Math.ceil(imageSize / blockSize)) - 1;
    const prev = out[out.length - 1];
    if (prev && first <= prev.last + 1) prev.last = Math.max(prev.last, last);
    else out.push({ first, last });
  }
  return out;
}

/** Byte extent of a range; the last block of an image whose size is not a block multiple is short. */
export function rangeBytes(b: Pick<Bmap, 'imageSize' | 'blockSize'>, r: { first: number; last: number }): { offset: Bytes; length: Bytes } {
  const offset = r.first * b.blockSize;
  return { offset, length: Math.min((r.last + 1) * b.blockSize, b.imageSize) - offset };
}

/** Reads the mapped blocks of `image` to checksum each range. */
export async function makeBmap(image: string, imageSize: Bytes, data: readonly Range[]): Promise<Bmap> {
  const fh = await open(image, 'r');
  try {
    const ranges: BmapRange[] = [];
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    let mapped = 0;
    for (const r of blockRanges(data, imageSize)) {
      const { offset, length } = rangeBytes({ imageSize, blockSize: BMAP_BLOCK_SIZE }, r);
      const h = createHash('sha256');
      for (let at = 0; at < length;) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, length - at), offset + at);
        if (bytesRead === 0) throw new Error(`${image}: ended at byte ${offset + at} while making its bmap (expected ${imageSize} bytes)`);
        h.update(buf.subarray(0, bytesRead));
        at += bytesRead;
      }
      ranges.push({ ...r, sha256: h.digest('hex') });
      mapped += r.last - r.first + 1;
    }
    return { imageSize, blockSize: BMAP_BLOCK_SIZE, blocksCount: Math.ceil(imageSize / BMAP_BLOCK_SIZE), mappedBlocksCount: mapped, ranges };
  } finally {
    await fh.close();
  }
}

/** The XML text; BmapFileChecksum is the sha256 of the text with that field all '0's. */
export function encodeBmap(b: Bmap): string {
  const range = (r: BmapRange) => `        <Range chksum="${r.sha256}"> ${r.first === r.last ? r.first : `${r.first}-${r.last}`} </Range>\n`;
  const text = [
    '<?xml version="1.0" ?>\n',
    '<!-- Block map of a raw disk image, written by bankforge: only the listed blocks\n',
    '     hold data; bmaptool copy and bankforge flash write only those. -->\n',
    '<bmap version="2.0">\n',
    `    <ImageSize> ${b.imageSize} </ImageSize>\n`,
    `    <BlockSize> ${b.blockSize} </BlockSize>\n`,
    `    <BlocksCount> ${b.blocksCount} </BlocksCount>\n`,
    `    <MappedBlocksCount> ${b.mappedBlocksCount} </MappedBlocksCount>\n`,
    '    <ChecksumType> sha256 </ChecksumType>\n',
    `    <BmapFileChecksum> ${CHECKSUM_ZEROS} </BmapFileChecksum>\n`,
    '    <BlockMap>\n',
    ...b.ranges.map(range),
    '    </BlockMap>\n',
    '</bmap>\n',
  ].join('');
  return text.replace(CHECKSUM_ZEROS, createHash('sha256').update(text).digest('hex'));
}

export class BmapError extends BankforgeError {}

/** Parses and checks a bmap file (version 2.x, sha256); `file` names it in errors. */
export function parseBmap(text: string, file: string): Bmap {
  const fail = (what: string): never => { throw new BmapError(`${file}: ${what}`); };
  const version = /<bmap\s+version="(\d+)\.(\d+)"/.exec(text);
  if (!version) fail('no <bmap version="..."> element: not a bmap file');
  // bmaptool: format 1.4 was 2.0 released under the wrong number; both have ChecksumType.
  if (!(version![1] === '2' || (version![1] === '1' && version![2] === '4'))) fail(`bmap version ${version![1]}.${version![2]}: expected 2.x`);
  const field = (name: string): string => {
    const m = new RegExp(`<${name}>\\s*([^<]*?)\\s*</${name}>`).exec(text);
    return m ? m[1]! : fail(`<${name}> missing`);
  };
  const int = (name: string): number => {
    const v = field(name);
    return /^\d+$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : fail(`<${name}> is ${JSON.stringify(v)}, expected a whole number`);
  };
  const type = field('ChecksumType');
  if (type !== 'sha256') fail(`<ChecksumType> is ${JSON.stringify(type)}; bankforge reads sha256 maps only`);
  const stored = field('BmapFileChecksum');
  const at = text.indexOf(stored);
  const computed = createHash('sha256').update(text.slice(0, at) + CHECKSUM_ZEROS + text.slice(at + stored.length)).digest('hex');
  if (computed !== stored) fail(`<BmapFileChecksum> is ${stored}, the file hashes to ${computed} (edited or truncated?)`);
  const b: Bmap = { imageSize: int('ImageSize'), blockSize: int('BlockSize'), blocksCount: int('BlocksCount'), mappedBlocksCount: int('MappedBlocksCount'), ranges: [] };
  if (b.blockSize === 0 || b.blockSize % 512 !== 0) fail(`<BlockSize> ${b.blockSize}: expected a multiple of 512`);
  if (b.blocksCount !== Math.ceil(b.imageSize / b.blockSize)) fail(`<BlocksCount> ${b.blocksCount} does not match <ImageSize> ${b.imageSize} / <BlockSize> ${b.blockSize}`);
  let mapped = 0;
  for (const m of text.matchAll(/<Range\s+chksum="([0-9a-f]{64})"\s*>\s*(\d+)(?:\s*-\s*(\d+))?\s*<\/Range>/g)) {
    const r = { first: Number(m[2]), last: Number(m[3] ?? m[2]), sha256: m[1]! };
    const prev = b.ranges[b.ranges.length - 1];
    if (r.last < r.first || r.last >= b.blocksCount || (prev && r.first <= prev.last)) {
      fail(`<Range> ${r.first}-${r.last}: expected ascending, non-overlapping ranges within ${b.blocksCount} blocks`);
    }
    b.ranges.push(r);
    mapped += r.last - r.first + 1;
  }
  if (mapped !== b.mappedBlocksCount) fail(`<MappedBlocksCount> is ${b.mappedBlocksCount}, the ranges map ${mapped} blocks`);
  return b;
}
