// What the hostile-input campaign starts from: an 11 MiB image of the default layout's shape
// (so a copy per case costs milliseconds), its manifest, and a bundle for it. Built once per
// suite with the real builder.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build, DEFAULT_EPOCH } from '../../builder/build.js';
import { createBundle } from '../../builder/bundle/create.js';
import type { Manifest } from '../../builder/manifest.js';
import { quiet } from '../helpers/images.js';

export const TINY_LAYOUT = {
  sectorSize: 512, alignment: '1MiB', diskSize: 'fit', seed: 'fuzz-tiny',
  partitions: [
    { name: 'bootloader', type: 'esp', filesystem: 'fat12', label: 'BOOTLOADER', size: '1MiB', contents: [{ artifact: 'loader', to: 'EFI/BOOT' }] },
    { name: 'bootbank', type: 'basic-data', filesystem: 'fat12', label: 'BOOTBANK1', bank: 'A', size: '3MiB', contents: [{ artifact: 'bank' }] },
    { name: 'altbootbank', type: 'basic-data', filesystem: 'fat12', label: 'BOOTBANK2', bank: 'B', size: '3MiB', contents: [{ artifact: 'bank' }] },
    { name: 'store', type: 'basic-data', filesystem: 'fat12', label: 'STORE', size: '1MiB' },
    { name: 'coredump', type: 'vmkdiagnostic', filesystem: 'raw', size: '1MiB' },
  ],
};

export interface Fixture { layout: string; image: string; bytes: Buffer; manifest: Manifest; bundle: string }

export async function fixture(dir: string): Promise<Fixture> {
  const layout = join(dir, 'tiny.json');
  await writeFile(layout, JSON.stringify(TINY_LAYOUT, null, 2));
  const image = join(dir, 'tiny.img');
  const { manifest } = await build({ layout, out: image, version: '1.0.0', progress: quiet });
  const bundle = join(dir, 'tiny-2.0.0.bfb');
  await createBundle({ version: '2.0.0', layout, out: bundle, kernelopt: '', bootTimeout: 0, epoch: DEFAULT_EPOCH });
  return { layout, image, bytes: await readFile(image), manifest, bundle };
}
