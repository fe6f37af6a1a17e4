// The bundle container (docs/bundle.md is the spec): a fixed 24-byte header, a JSON manifest,
// an optional Ed25519 signature over header + manifest, then the files back to back in manifest
// order. The manifest's sha256 of every file, under the signature, is what makes the payload
// trustworthy; the reader (read.ts) checks sizes first, then the signature, then the hashes.

import type { Bytes, SectorSize } from '../../partitions/units.js';

export const BUNDLE = {
  magic: 'BFBUNDLE',
  format: 1,
  headerSize: 24,
  /** A manifest lists a handful of files; anything bigger is not a bundle of ours. */
  maxManifest: 1 << 20,
  signatureSize: 64,
  /**
   * The files of one bank: a kernel and module archives (the esxi layout's banks are 48 MiB).
   * Far above any real bundle, and far below what one read or one Buffer can take: a crafted
   * size is refused with its offset instead of reaching an allocation.
   */
  maxPayload: 1 << 30,
} as const;

/** Header field offsets. */
export const HDR = { magic: 0, format: 8, manifestLength: 12, signatureLength: 16, reserved: 20 } as const;

/** A (bank partition size, sector size) pair the bundle's FAT volume was planned for. */
export interface BundleFit { partitionSize: Bytes; sectorSize: SectorSize; filesystem: 'fat12' | 'fat16' | 'fat32' }

export interface BundleFile { name: string; size: Bytes; sha256: string }

export interface BundleManifest {
  format: 1;
  /** The bank's build string: boot.cfg build=, the state record's version. */
  version: string;
  build: {
    tool: string;
    layout: string;
    layoutSha256: string;
    kernelopt: string;
    bootTimeout: number;
    /** FAT timestamps of the installed volume (SOURCE_DATE_EPOCH at bundle time). */
    sourceDateEpoch: number;
  };
  /** Where it can be installed: a target bank must match one entry exactly. */
  fits: BundleFit[];
  /** In payload order. */
  files: BundleFile[];
  payload: { size: Bytes; sha256: string };
}

export function encodeHeader(manifestLength: number, signatureLength: number): Buffer {
  const h = Buffer.alloc(BUNDLE.headerSize);
  h.write(BUNDLE.magic, HDR.magic, 'latin1');
  h.writeUInt32LE(BUNDLE.format, HDR.format);
  h.writeUInt32LE(manifestLength, HDR.manifestLength);
  h.writeUInt32LE(signatureLength, HDR.signatureLength);
  return h;
}
