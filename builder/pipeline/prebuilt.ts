// The loader and kernel shipped prebuilt in the npm package (prebuilt/, made by `npm pack`'s
// prepack step, scripts/prebuild.mjs), so that building an image needs Node alone. Each program
// is recorded with the key of the sources and flags it was made from and its sha256: it is used
// only while the sources still have that key, and only when its bytes still have that hash.
// A checkout has no prebuilt/ and compiles (builder/pipeline/compile.ts).

import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BankforgeError } from '../../support/errors.js';
import { PACKAGE_ROOT } from '../../support/package-info.js';
import { parseUntrustedJson } from '../../support/untrusted-json.js';

export type ProgramKind = 'loader' | 'kernel';

export const PREBUILT_DIR = 'prebuilt';
const MANIFEST = 'prebuilt.json';
const FILES: Record<ProgramKind, string> = { loader: 'BOOTX64.EFI', kernel: 'kernel.elf' };

interface Entry { file: string; sourceKey: string; sha256: string }
type PrebuiltManifest = Record<ProgramKind, Entry>;

/** `path`: the verified prebuilt program; `differs`: there is one, but for other sources. */
export interface PrebuiltMatch { path?: string; differs: boolean }

async function readManifest(root: string): Promise<PrebuiltManifest | undefined> {
  const file = join(root, PREBUILT_DIR, MANIFEST);
  // A checkout has none: asked without the exception a failed read makes (~0.3 ms), on every build;
  // any other failure (EACCES, ENOTDIR) still throws, here or from the read.
  if (!statSync(file, { throwIfNoEntry: false })) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const where = `${PREBUILT_DIR}/${MANIFEST}`;
  const m = parseUntrustedJson(text, where) as Record<string, unknown>;
  for (const kind of Object.keys(FILES) as ProgramKind[]) {
    const e = Object.hasOwn(m, kind) ? m[kind] as Record<string, unknown> : undefined;
    if (!e || typeof e !== 'object' || e.file !== FILES[kind] || typeof e.sourceKey !== 'string' || typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256)) {
      throw new BankforgeError(`${join(root, where)}: entry "${kind}" is damaged: reinstall bankforge`);
    }
  }
  return m as unknown as PrebuiltManifest;
}

/**
 * The prebuilt `kind` when it was made from sources with `sourceKey()` (asked only when there is
 * a prebuilt program: a checkout has none), its bytes checked against the recorded sha256.
 */
export async function prebuiltFor(kind: ProgramKind, sourceKey: () => string, root = PACKAGE_ROOT): Promise<PrebuiltMatch> {
  const manifest = await readManifest(root);
  if (!manifest) return { differs: false };
  const entry = manifest[kind];
  if (entry.sourceKey !== sourceKey()) return { differs: true };
  const path = join(root, PREBUILT_DIR, entry.file);
  const seen = createHash('sha256').update(readFileSync(path)).digest('hex');
  if (seen !== entry.sha256) {
    throw new BankforgeError(`${path}: sha256 ${seen}, but ${PREBUILT_DIR}/${MANIFEST} records ${entry.sha256}: the installed package is damaged or was changed; reinstall bankforge`);
  }
  return { path, differs: false };
}

/** Writes prebuilt/ from freshly compiled programs: `programs` maps each kind to its compiled file and source key. */
export async function writePrebuilt(programs: Record<ProgramKind, { path: string; sourceKey: string }>, root = PACKAGE_ROOT): Promise<string> {
  const dir = join(root, PREBUILT_DIR);
  const tmp = `${dir}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  const manifest: Partial<PrebuiltManifest> = {};
  for (const kind of Object.keys(FILES) as ProgramKind[]) {
    const { path, sourceKey } = programs[kind];
    await copyFile(path, join(tmp, FILES[kind]));
    manifest[kind] = { file: FILES[kind], sourceKey, sha256: createHash('sha256').update(await readFile(path)).digest('hex') };
  }
  await writeFile(join(tmp, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  return dir;
}
