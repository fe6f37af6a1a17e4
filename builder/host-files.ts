// What a layout's "host" section adds to the image: files for the base system archive (base.tar)
// the kernel unpacks at boot, and the initial host configuration (docs/host.md).

import { readFile } from 'node:fs/promises';
import { LayoutError } from '../support/errors.js';
import { resolveContents } from './contents.js';
import { checkSetting, DEFAULTS, type Settings } from '../partitions/config-record.js';
import type { TarEntry } from './pipeline/ustar.js';
import type { LayoutSpec } from './layout/types.js';

/** The layout's host files as archive entries; they are added after base/ and so replace its files. */
export async function hostArchiveEntries(layout: LayoutSpec): Promise<TarEntry[]> {
  if (!layout.host?.files.length) return [];
  // The parser already refused artifacts here; nothing can ask for one.
  const tree = await resolveContents(layout.file, layout.host.files, () => { throw new Error('host files take no artifacts'); });
  const out: TarEntry[] = [];
  for (const [path, e] of tree) {
    if (e.kind === 'dir') out.push({ path });
    else out.push({ path, data: 'data' in e.source ? Buffer.from(e.source.data) : await readFile(e.source.path) });
  }
  return out;
}

/** The layout's initial settings over the defaults, each checked as the kernel checks it. */
export function hostSettings(layout: LayoutSpec): Settings | undefined {
  const given = layout.host?.settings ?? {};
  if (Object.keys(given).length === 0) return undefined;
  for (const [k, v] of Object.entries(given)) {
    const problem = checkSetting(k, v);
    if (problem) throw new LayoutError(layout.file, `host.settings.${k}`, problem);
  }
  return { ...DEFAULTS, ...given };
}
