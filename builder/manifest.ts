// The JSON manifest written beside every image: what went in (layout, version, inputs) and what
// came out (geometry, GUIDs, sha256 of each partition and of the whole image).

import { writeFile } from 'node:fs/promises';
import type { Bytes, Lba, SectorSize } from '../partitions/units.js';
import { writeOutput } from '../support/output-file.js';

export const MANIFEST_FORMAT = 1;

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
  sha256: string;
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
  image: { file: string; size: Bytes; sha256: string };
  partitions: ManifestPartition[];
}

/** Where the manifest of `image` lives: esxi.img -> esxi.manifest.json. */
export function manifestPathFor(image: string): string {
  return image.replace(/(\.[^./]*)?$/, '.manifest.json');
}

export async function writeManifest(path: string, m: Manifest): Promise<void> {
  await writeOutput(path, (tmp) => writeFile(tmp, `${JSON.stringify(m, null, 2)}\n`));
}
