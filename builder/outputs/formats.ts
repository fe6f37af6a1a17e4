// The output formats `bankforge build --format` makes from the raw image, and their file names.
// The raw image is always written: the manifest and the .bmap describe its bytes, and every
// other format is that image compressed or converted.

import { BankforgeError, EXIT } from '../../support/errors.js';
import { bmapPathFor } from './bmap.js';

export const FORMATS = ['raw', 'gz', 'xz', 'qcow2', 'vmdk', 'bmap'] as const;
export type OutputFormat = (typeof FORMATS)[number];

/** `--format raw,gz` (or given twice): checked, deduplicated, in FORMATS order. */
export function parseFormats(values: readonly string[]): OutputFormat[] {
  const asked = new Set(values.flatMap((v) => v.split(',')).map((v) => v.trim().toLowerCase()).filter(Boolean));
  for (const f of asked) {
    if (!(FORMATS as readonly string[]).includes(f)) {
      throw new BankforgeError(`--format ${f}: unknown format; expected a comma-separated list of ${FORMATS.join(', ')}`, EXIT.usage);
    }
  }
  return FORMATS.filter((f) => asked.has(f));
}

/** Where each format goes: esxi.img -> esxi.img.gz, esxi.img.xz, esxi.qcow2, esxi.vmdk, esxi.img.bmap. */
export function outputPath(image: string, format: OutputFormat): string {
  const stem = image.replace(/\.img$/i, '');
  switch (format) {
    case 'raw': return image;
    case 'gz': return `${image}.gz`;
    case 'xz': return `${image}.xz`;
    case 'qcow2': return `${stem}.qcow2`;
    case 'vmdk': return `${stem}.vmdk`;
    case 'bmap': return bmapPathFor(image);
  }
}
