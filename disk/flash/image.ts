// What `bankforge flash` is given: the image file's container (raw, gzip, xz, zstd; a VM disk
// or another archive is refused), its size, its partition table, and the .bmap and manifest
// beside it when present. Nothing here touches the target device.

import { statSync } from 'node:fs';
import { stat, open } from 'node:fs/promises';
import { basename } from 'node:path';
import { BankforgeError, EXIT } from '../../support/errors.js';
import { manifestPathFor, readImageManifest, type ImageManifest } from '../../builder/manifest.js';
import { readRegularFile } from '../../support/regular-file.js';
import { bmapPathFor, parseBmap, BmapError, type Bmap } from '../../builder/outputs/bmap.js';
import { readGpt, GptError, type GptReadResult } from '../../partitions/gpt.js';
import type { ByteSource } from '../../partitions/sink.js';
import type { Bytes } from '../../partitions/units.js';
import { openReader, streamSize, type Compression, type ImageReader } from './reader.js';
import { CONTAINER_PROBE_BYTES, compressionBySuffix, containerOf } from '../container.js';
import { dataExtents, type Extent } from '../file-extents.js';
import { FlashFailure } from './errors.js';

/** A bmap lists ranges as text: tens of bytes each; a few MiB for the largest images. */
const BMAP_MAX = 64 * 1024 * 1024;

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
  /** The manifest beside the raw image, when it describes this image. */
  manifest: ImageManifest | undefined;
  /** What was looked at and not used, for the user (a manifest describing another image). */
  notes: string[];
  /** A raw file's data extents (holes elsewhere), asked for as soon as the file is known to be raw; undefined for a stream or when unknown. */
  extents: Promise<Extent[] | undefined>;
  /** The file as it was opened, before its extents were asked for: a later change to it shows in these. */
  opened: { ino: number; ctimeMs: number };
  openReader(): Promise<ImageReader>;
}

const COMPRESSED_SUFFIX = /\.(gz|xz|zst)$/i;

export async function openImage(path: string): Promise<ImageSource> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new BankforgeError(`cannot open image ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  if (!st.isFile()) throw new BankforgeError(`${path} is not a regular file; give an image file (raw, .gz, .xz or .zst)`);
  const compression = await containerOfFile(path);
  // The helper runs while the rest is read and the device is looked at; the check against a manifest and the write (segments.ts) await it.
  const extents = compression === 'none' ? dataExtents(path) : Promise.resolve(undefined);
  const notes: string[] = [];
  const raw = compression === 'none' ? path : path.replace(COMPRESSED_SUFFIX, '');
  const bmap = await findBmap(path, raw);
  const manifest = await findManifest(raw, notes);

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
  // A manifest that names this file but another size describes it as built: the file was cut
  // short (a broken download) or grown since, which is the change the check is there to refuse.
  if (manifest && manifest.file === basename(raw) && manifest.size !== size) {
    throw new FlashFailure(`${path} is ${size} bytes, and ${manifest.path}, which names it, says ${manifest.size}: was it cut short or changed after its build? Nothing was written; rebuild it, or flash a copy made before`);
  }
  const m = manifest && manifest.size === size && manifest.file === basename(raw) ? manifest : undefined;
  if (manifest && !m) notes.push(`${manifest.path} describes ${manifest.file} of ${manifest.size} bytes, not this image; not used`);

  const head = Buffer.alloc(Math.min(HEAD_BYTES, size));
  const reader = await openReader(path, compression);
  try {
    await reader.read(0, head);
  } finally {
    await reader.close();
  }
  const gpt = await gptOf(path, head, size);
  // The device is written O_DIRECT, whole sectors at a time: a map in finer blocks than the
  // image's sectors (a hand-made one; ours use 4096) would fail with EINVAL after the old
  // partition table was cleared.
  if (bmap && bmap.map.blockSize % gpt.sectorSize !== 0) {
    throw new BankforgeError(`${bmap.path}: <BlockSize> ${bmap.map.blockSize} is not a multiple of the image's ${gpt.sectorSize}-byte sectors, which flash writes whole; make the map again (bankforge build --format bmap, or bmaptool create)`, EXIT.input, { file: bmap.path });
  }
  return { path, compression, size, gpt, head, bmap, manifest: m, notes, extents, opened: { ino: st.ino, ctimeMs: st.ctimeMs }, openReader: () => openReader(path, compression) };
}

async function containerOfFile(path: string): Promise<Compression> {
  const fh = await open(path, 'r');
  const buf = Buffer.alloc(CONTAINER_PROBE_BYTES);
  let got: number;
  try { got = (await fh.read(buf, 0, buf.length, 0)).bytesRead; } finally { await fh.close(); }
  if (got === 0) throw new BankforgeError(`${path} is empty (0 bytes): not a disk image`);
  const hit = containerOf(buf.subarray(0, got));
  const named = compressionBySuffix(path);
  // A ".xz" that is not xz is a failed download or a mix-up, not a raw image to write.
  if (named && hit?.compression !== named) throw new BankforgeError(`${path} is named .${path.replace(/^.*\./, '')} but is not ${named}-compressed (${hit ? `it is ${hit.what}` : 'no such header at byte 0'})`);
  if (!hit) return 'none';
  if (hit.compression) return hit.compression;
  throw new BankforgeError(`${path} is not a raw disk image: it is ${hit.what}`);
}

async function findBmap(path: string, raw: string): Promise<{ path: string; map: Bmap } | undefined> {
  for (const candidate of new Set([bmapPathFor(path), bmapPathFor(raw)])) {
    // A map is optional: one that cannot be read as a regular file (missing, a FIFO, a directory) is not used.
    const text = await readRegularFile(candidate, BMAP_MAX, 'bmap').then((b) => b.toString('utf8'), () => undefined);
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

async function findManifest(raw: string, notes: string[]): Promise<ImageManifest | undefined> {
  const path = manifestPathFor(raw);
  if (!(await stat(path).catch(() => undefined))) return undefined;
  try {
    return await readImageManifest(path);
  } catch (e) {
    if (!(e instanceof BankforgeError)) throw e;
    notes.push(`${e.message}; the manifest is not used`);
    return undefined;
  }
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

/**
 * Throws when the image file is no longer the one opened: removed, replaced, or written since
 * (its inode, size or ctime, which user space cannot set back). What was read of it before
 * (its check against the manifest, its holes taken as zeros) then no longer holds.
 */
export function assertUnchanged(source: ImageSource): void {
  const now = statSync(source.path, { throwIfNoEntry: false });
  if (!now) throw new BankforgeError(`${source.path} was removed while it was flashed; flash it again once nothing touches it`);
  if (now.ino !== source.opened.ino || now.size !== source.size || now.ctimeMs !== source.opened.ctimeMs) {
    throw new BankforgeError(`${source.path} changed while it was flashed (now ${now.size} bytes, ${source.size} when opened${now.ino !== source.opened.ino ? '; another file by that name' : ''}); flash it again once nothing writes to it`);
  }
}
