// Images and bundles for the upgrade tests in QEMU: the small layout with files in its store
// partition (so that every step can show the store survives), bundles made like the CLI makes
// them, and a fingerprint of the store's files read back with FatVolume.

import { mkdir, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBundle } from '../../../builder/bundle/create.js';
import { DEFAULT_EPOCH } from '../../../builder/build.js';
import { openFileSource } from '../../../disk/file-source.js';
import { readGpt } from '../../../partitions/gpt.js';
import { FatVolume, fileSectorDevice } from '../../../partitions/fat/index.js';
import { sha256 } from '../../../partitions/bank-files.js';
import { buildQuiet } from '../../helpers/images.js';
import { repoRoot } from '../../helpers/tools.js';

/** layouts/small.json with two files (one in a subdirectory) in the store. */
export async function storeLayout(dir: string): Promise<string> {
  const files = join(dir, 'store-files');
  await mkdir(join(files, 'etc'), { recursive: true });
  await writeFile(join(files, 'README.TXT'), 'persistent host configuration lives here\n');
  await writeFile(join(files, 'etc', 'esx.conf'), Buffer.from(Array.from({ length: 5000 }, (_, i) => `/net/vmnic${i % 7}/mtu = "${1500 + i}"\n`).join('')));
  const small = JSON.parse(await readFile(join(repoRoot, 'layouts', 'small.json'), 'utf8'));
  delete small.$schema;
  small.partitions.find((p: { name: string }) => p.name === 'store').contents = [{ dir: './store-files' }];
  const path = join(dir, 'small-store.json');
  await writeFile(path, JSON.stringify(small, null, 2));
  return path;
}

export async function storeImage(dir: string, name: string, layout: string, version = '1.0.0'): Promise<string> {
  const out = join(dir, `${name}.img`);
  await buildQuiet({ layout, out, version, bootTimeout: 0 });
  return out;
}

export async function bundle(dir: string, version: string, layout: string, kernelopt = ''): Promise<string> {
  const out = join(dir, `${version}${kernelopt ? `-${kernelopt.replace(/[^a-z]+/g, '')}` : ''}.bfb`);
  await createBundle({ version, layout, out, kernelopt, bootTimeout: 0, epoch: DEFAULT_EPOCH });
  return out;
}

/** path -> sha256 of every file in the partition named "store". */
export async function storeFingerprint(image: string): Promise<Record<string, string>> {
  const src = await openFileSource(image);
  const gpt = await readGpt(src).finally(() => src.close());
  const p = gpt.partitions.find((q) => q.name === 'store');
  if (!p) throw new Error(`${image}: no store partition`);
  const dev = await fileSectorDevice(image, p.firstLba * gpt.sectorSize, (p.lastLba - p.firstLba + 1) * gpt.sectorSize, gpt.sectorSize, false);
  const vol = await FatVolume.open(dev, { readOnly: true });
  try {
    const out: Record<string, string> = {};
    for (const f of await vol.walk()) if (!f.isDir) out[f.path] = sha256(await vol.readFile(f.path));
    return out;
  } finally {
    await vol.close();
    await dev.close();
  }
}
