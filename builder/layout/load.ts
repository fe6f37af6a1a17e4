// Finds and reads a layout: a name from layouts/ ("esxi", "small") or a path to a JSON file.

import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import { PACKAGE_ROOT } from '../../support/package-info.js';
import { BankforgeError } from '../../support/errors.js';
import { readUntrustedJsonFile } from '../../support/untrusted-json.js';
import { FileInputError } from '../../support/regular-file.js';
import { parseLayout } from './parse.js';
import type { LayoutSpec } from './types.js';

/** layouts/ in the package. */
export const LAYOUTS_DIR = join(PACKAGE_ROOT, 'layouts');
export const DEFAULT_LAYOUT = 'esxi';

export function layoutPath(nameOrFile: string): string {
  return /[/\\]|\.json$/.test(nameOrFile) ? nameOrFile : join(LAYOUTS_DIR, `${nameOrFile}.json`);
}

/** A layout and the sha256 of its file, which the manifest records. */
export type LoadedLayout = LayoutSpec & { sha256: string };

export async function loadLayout(nameOrFile: string = DEFAULT_LAYOUT): Promise<LoadedLayout> {
  const file = layoutPath(nameOrFile);
  const { value, bytes } = await readUntrustedJsonFile(file, undefined, 'layout').catch((e: unknown) => {
    if (e instanceof FileInputError && e.missing) throw new BankforgeError(`layout not found: ${file} (give a name from ${LAYOUTS_DIR} or a path to a .json file)`);
    throw e;
  });
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { ...parseLayout(value, file, basename(file, '.json')), sha256 };
}
