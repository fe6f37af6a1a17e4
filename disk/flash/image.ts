// What `bankforge flash` is given: the image file's container (raw, gzip, xz, zstd; a VM disk
// or another archive is refused), its size, its partition table, and the .bmap and manifest
// beside it when present. Nothing here touches the target device.

import { readFile, stat, open } from 'node:fs/promises';
import { basename } from 'node:path';
import { BankforgeError } from '../../support/errors.js';
import { manifestPathFor, type Manifest } from '../../builder/manifest.js';
import { bmapPathFor, parseBmap, BmapError, type Bmap } from '../../builder/outputs/bmap.js';
import { readGpt, GptError, type GptReadResult } from '../../partitions/gpt.js';
import type { ByteSource } from '../../partitions/sink.js';
import type { Bytes } from '../../partitions/units.js';
import { openReader, streamSize, type Compression, type ImageReader } from './reader.js';

/** How much of the image is read up front: the partition table lives in it, and it is written last. */
export const HEAD_BYTES: Bytes = 1024 * 1024;

export interface ImageSource {
  path: string;
  compression: Compression;
  /** Size of the raw (decompressed) image. */
  size: Bytes;
  gpt: GptReadResult;
  /** The first HEAD_BYTES of the raw image (fewer when it is smaller). */
  head: Buffer;
  bmap: { path: string; map: Bmap } | undefined;
  manifest: { path: string; sha256: string } | undefined;
  /** What was looked at and not used, for the user (a manifest describing another image). */
  notes: string[];
  openReader(): Promise<ImageReader>;
}

const MAGIC: { bytes: Buffer; at: number; what: Compression | string }[] = [
  { bytes: Buffer.from([0x1f, 0x8b]), at: 0, what: 'gzip' },
  { bytes: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), at: 0, what: 'xz' },
  { bytes: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), at: 0, what: 'zstd' },
  { bytes: Buffer.from('QFI\xfb', 'latin1'), at: 0, what: 'a qcow2 VM disk (convert it: qemu-img convert -O raw IMAGE out.img)' },
  { bytes: Buffer.from('KDMV', 'latin1'), at: 0, what: 'a VMDK VM disk (convert it: qemu-img convert -O raw IMAGE out.img)' },
  { bytes: Buffer.from('# Disk DescriptorFile', 'latin1'), at: 0, what: 'a VMDK descriptor (convert it: qemu-img convert -O raw IMAGE out.img)' },
  { bytes: Buffer.from('vhdxfile', 'latin1'), at: 0, what: 'a VHDX VM disk (convert it: qemu-img convert -O raw IMAGE out.img)' },
  { bytes: Buffer.from('conectix', 'latin1'), at: 0, what: 'a VHD VM disk (convert it: qemu-img convert -O raw IMAGE out.img)' },
  { bytes: Buffer.from([0x7f, 0x10, 0xda, 0xbe]), at: 0x40, what: 'a VirtualBox VDI disk (convert it: qemu-img convert -O raw IMAGE out.img)' },
  { bytes: Buffer.from('BZh', 'latin1'), at: 0, what: 'bzip2-compressed (decompress it first, or recompress with xz or gzip)' },
  { bytes: Buffer.from('PK\x03\x04', 'latin1'), at: 0, what: 'a zip archive (unpack the image from it first)' },
  { bytes: Buffer.from([0x04, 0x22, 0x4d, 0x18]), at: 0, what: 'lz4-compressed (decompress it first)' },
];

const COMPRESSED_SUFFIX = /\.(gz|xz|zst)$/i;

export async function openImage(path: string): Promise<ImageSource> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new BankforgeError(`cannot open image ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  if (!st.isFile()) throw new BankforgeError(`${path} is not a regular file; give an image file (raw, .gz, .xz or .zst)`);
  const compression = await containerOf(path);
  const notes: string[] = [];
  const raw = compression === 'none' ? path : path.replace(COMPRESSED_SUFFIX, '');
  const bmap = await findBmap(path, raw);
  const manifest = await findManifest(raw);

  let size: Bytes;
  if (compression === 'none') size = st.size;
  else if (bmap) size = bmap.map.imageSize;
  else if (manifest) size = manifest.size;
  else {
    notes.push(`${path}: no .bmap or manifest beside it, so it was decompressed once to learn its size`);
    size = await streamSize(path, compression);
  }
  if (bmap && bmap.map.imageSize !== size) {
    throw new BankforgeError(`${bmap.path} describes an image of ${bmap.map.imageSize} bytes; ${path} has ${size} (a map of another build?)`);
  }
  const m = manifest && manifest.size === size && manifest.file === basename(raw) ? { path: manifest.path, sha256: manifest.sha256 } : undefined;
  if (manifest && !m) notes.push(`${manifest.path} describes ${manifest.file} of ${manifest.size} bytes, not this image; not used`);

  const head = Buffer.alloc(Math.min(HEAD_BYTES, size));
  const reader = await openReader(path, compression);
  try {
    await reader.read(0, head);
  } finally {
    await reader.close();
  }
  const gpt = await gptOf(path, head, size);
  return { path, compression, size, gpt, head, bmap, manifest: m, notes, openReader: () => openReader(path, compression) };
}

async function containerOf(path: string): Promise<Compression> {
  const fh = await open(path, 'r');
  const buf = Buffer.alloc(0x48);
  try { await fh.read(buf, 0, buf.length, 0); } finally { await fh.close(); }
  const hit = MAGIC.find((m) => buf.subarray(m.at, m.at + m.bytes.length).equals(m.bytes));
  if (!hit) return 'none';
  if (hit.what === 'gzip' || hit.what === 'xz' || hit.what === 'zstd') return hit.what;
  throw new BankforgeError(`${path} is not a raw disk image: it is ${hit.what}`);
}

async function findBmap(path: string, raw: string): Promise<{ path: string; map: Bmap } | undefined> {
  for (const candidate of new Set([bmapPathFor(path), bmapPathFor(raw)])) {
    const text = await readFile(candidate, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    try {
      return { path: candidate, map: parseBmap(text, candidate) };
    } catch (e) {
      if (e instanceof BmapError) throw new BankforgeError(e.message);
      throw e;
    }
  }
  return undefined;
}

async function findManifest(raw: string): Promise<{ path: string; file: string; size: Bytes; sha256: string } | undefined> {
  const path = manifestPathFor(raw);
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const m = JSON.parse(text) as Partial<Manifest>;
  if (!m.image || typeof m.image.size !== 'number' || typeof m.image.sha256 !== 'string') return undefined;
  return { path, file: m.image.file, size: m.image.size, sha256: m.image.sha256 };
}

/** The primary GPT, read from the head alone: a stream has no end to seek to, and the backup is rewritten anyway. */
async function gptOf(path: string, head: Buffer, size: Bytes): Promise<GptReadResult> {
  const src: ByteSource = {
    size,
    read: async (offset, length) => {
      const out = Buffer.alloc(length);
      if (offset < head.length) head.copy(out, 0, offset, Math.min(head.length, offset + length));
      return out;
    },
  };
  try {
    const gpt = await readGpt(src);
    if (gpt.source !== 'primary') throw new GptError('the primary GPT is damaged');
    return gpt;
  } catch (e) {
    if (!(e instanceof GptError)) throw e;
    const mbr = head.length >= 512 && head.readUInt16LE(510) === 0xaa55;
    throw new BankforgeError(`${path} is not a GPT disk image (${mbr ? 'it has an MBR partition table only; bankforge flash writes GPT images, bmaptool or dd write others' : e.message})`);
  }
}
