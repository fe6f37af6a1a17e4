// Turns a partition's content sources (host directories, host files, pipeline artifacts) into
// the one tree of files a FAT writer takes, checking that every source exists and that no two
// sources put something at the same path.

import { readdirSync, statSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { LayoutError } from '../support/errors.js';
import type { FatTree, FatTreeEntry } from '../partitions/fat/index.js';
import type { ContentSource } from './layout/types.js';
import type { Artifacts } from './pipeline/artifacts.js';

/** `owner`, when given, is filled with the field each path came from (upper-cased path → field). */
export async function resolveContents(file: string, sources: ContentSource[], artifacts: Artifacts, owner = new Map<string, string>()): Promise<FatTree> {
  const tree: FatTree = new Map();
  const put = (src: ContentSource, path: string, entry: FatTreeEntry) => {
    // A directory named by two sources is fine (both fill it); a file is not.
    const prev = owner.get(path.toUpperCase());
    if (prev !== undefined) {
      const existing = tree.get(path) ?? [...tree.entries()].find(([k]) => k.toUpperCase() === path.toUpperCase())?.[1];
      if (entry.kind === 'dir' && existing?.kind === 'dir') return;
      throw new LayoutError(file, src.field, `"${path}" is also given by ${prev} (FAT names are case-insensitive)`);
    }
    owner.set(path.toUpperCase(), src.field);
    tree.set(path, entry);
  };

  for (const src of sources) {
    if (src.kind === 'artifact') {
      for (const [path, entry] of await artifacts(src.name)) put(src, src.to ? posix.join(src.to, path) : path, entry);
    } else if (src.kind === 'file') {
      const st = statOr(file, src, src.path);
      if (!st.isFile()) throw new LayoutError(file, `${src.field}.file`, `${src.path} is not a regular file`);
      put(src, src.to || posix.basename(src.path), { kind: 'file', size: st.size, source: { path: src.path } });
    } else {
      const st = statOr(file, src, src.path);
      if (!st.isDirectory()) throw new LayoutError(file, `${src.field}.dir`, `${src.path} is not a directory`);
      if (src.to) put(src, src.to, { kind: 'dir' });
      walk(src.path, src.to, (rel, entry) => put(src, rel, entry), (host, why) => {
        throw new LayoutError(file, `${src.field}.dir`, `${host}: ${why}`);
      }, new Set([`${st.dev}:${st.ino}`]));
    }
  }
  return tree;
}

function statOr(file: string, src: ContentSource, path: string): Stats {
  try {
    return statSync(path);
  } catch (e) {
    throw new LayoutError(file, `${src.field}.${src.kind}`, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * Depth-first, names sorted, so the tree (and the image) does not depend on readdir's order.
 * Synchronous, as base/, the kernel and the cache checks are read: a stat through the thread
 * pool is a round trip of 50-100 µs on these machines, and the build waits for each in turn.
 * Symbolic links are followed (a link to a file copies the file); a dangling link, a link loop
 * or a link back to a directory being walked is refused through `refuse` instead of failing
 * deep inside the build or recursing forever. `onPath` holds the directories being walked.
 */
function walk(dir: string, prefix: string, put: (path: string, entry: FatTreeEntry) => void, refuse: (host: string, why: string) => never, onPath: Set<string>): void {
  const names = readdirSync(dir).sort();
  for (const name of names) {
    const host = join(dir, name);
    const rel = prefix ? posix.join(prefix, name) : name;
    let st: Stats;
    try {
      st = statSync(host);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'ENOENT' ? 'a symbolic link to nothing (dangling)' : e.code === 'ELOOP' ? 'a symbolic link loop' : `cannot read it: ${e.code ?? e.message}`;
      refuse(host, why);
    }
    if (st.isDirectory()) {
      const id = `${st.dev}:${st.ino}`;
      if (onPath.has(id)) refuse(host, 'a link back to a directory that contains it (the tree would never end)');
      put(rel, { kind: 'dir' });
      onPath.add(id);
      walk(host, rel, put, refuse, onPath);
      onPath.delete(id);
    } else if (st.isFile()) {
      put(rel, { kind: 'file', size: st.size, source: { path: host } });
    } else refuse(host, 'neither a file nor a directory; FAT cannot hold it');
  }
}
