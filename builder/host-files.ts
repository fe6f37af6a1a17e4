// What a layout's "host" section adds to the image: files for the base system archive (base.tar)
// the kernel unpacks at boot, and the initial host configuration (docs/host.md).

import { readFileSync } from 'node:fs';
import { LayoutError } from '../support/errors.js';
import { resolveContents } from './contents.js';
import { checkSetting, DEFAULTS, type Settings } from '../partitions/config-record.js';
import { treeEntries, ustarPathProblem, type TarEntry } from './pipeline/ustar.js';
import { BASE_DIR } from './pipeline/bank.js';
import type { LayoutSpec } from './layout/types.js';

/**
 * What the kernel's in-memory filesystem takes when it unpacks base.tar (kernel/system.h
 * FS_NAME_MAX and USTAR_FILE_MAX, kernel/ramfs.c NINODE; a test reads them from the C). An
 * archive past any of them makes every bank panic at boot, so the builder refuses it instead.
 */
export const KERNEL_RAMFS = { nameMax: 59, fileMax: 16 * 1024 * 1024, inodes: 512 } as const;

/** The layout's host files as archive entries; they are added after base/ and so replace its files. */
export async function hostArchiveEntries(layout: LayoutSpec): Promise<TarEntry[]> {
  if (!layout.host?.files.length) return [];
  const owner = new Map<string, string>();
  // The parser already refused artifacts here; nothing can ask for one.
  const tree = await resolveContents(layout.file, layout.host.files, () => { throw new Error('host files take no artifacts'); }, owner);
  const fail = (path: string, detail: string): never => { throw new LayoutError(layout.file, owner.get(path.toUpperCase()) ?? 'host.files', detail); };
  const base = new Map(treeEntries(BASE_DIR).map((e) => [e.path, e.data ? 'file' : 'dir'] as const));
  const paths = new Set(base.keys());
  for (const [path, e] of tree) {
    const kind = e.kind === 'dir' ? 'dir' : 'file';
    const long = path.split('/').find((c) => Buffer.byteLength(c) > KERNEL_RAMFS.nameMax);
    if (long) fail(path, `"${long}" in "${path}" is ${Buffer.byteLength(long)} bytes; the kernel's file names hold at most ${KERNEL_RAMFS.nameMax}`);
    const tooLong = ustarPathProblem(path, kind === 'dir');
    if (tooLong) fail(path, tooLong);
    if (e.kind === 'file' && e.size > KERNEL_RAMFS.fileMax) fail(path, `"${path}" is ${e.size} bytes; the kernel unpacks files of at most ${KERNEL_RAMFS.fileMax} bytes (16 MiB)`);
    // The kernel unpacks base/ and the host files into one tree: a file where the base system has
    // a directory (or the reverse, or anything under a base file) cannot be created at boot.
    const baseKind = base.get(path);
    if (baseKind && baseKind !== kind) fail(path, `"${path}" is a ${baseKind === 'dir' ? 'directory' : 'file'} of the base system (base/); a host ${kind === 'dir' ? 'directory' : 'file'} cannot replace it`);
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (base.get(parent) === 'file') fail(path, `"${path}" would go under "${parent}", which is a file of the base system (base/)`);
      paths.add(parent);
    }
    paths.add(path);
  }
  // The root takes an inode too.
  if (paths.size + 1 > KERNEL_RAMFS.inodes) fail('', `the base system and the host files make ${paths.size + 1} files and directories; the kernel holds at most ${KERNEL_RAMFS.inodes}`);
  const out: TarEntry[] = [];
  for (const [path, e] of tree) {
    if (e.kind === 'dir') out.push({ path });
    else out.push({ path, data: 'data' in e.source ? Buffer.from(e.source.data) : readFileSync(e.source.path) });
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
