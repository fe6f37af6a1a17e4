// Finds and reads a layout: a name from layouts/ ("esxi", "small") or a path to a JSON file.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { PACKAGE_ROOT } from '../../support/package-info.js';
import { BankforgeError, LayoutError } from '../../support/errors.js';
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
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BankforgeError(code === 'ENOENT' ? `layout not found: ${file} (give a name from ${LAYOUTS_DIR} or a path to a .json file)` : `cannot read layout ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new LayoutError(file, '', `not valid JSON: ${(e as Error).message}`);
  }
  const sha256 = createHash('sha256').update(text).digest('hex');
  return { ...parseLayout(json, file, basename(file, '.json')), sha256 };
}
