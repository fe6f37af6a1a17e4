// From a tree of files to a complete allocation: every directory's entries (sorted, with short aliases),
// every cluster run, in depth-first order so each file and directory is one contiguous run.
// All validation happens here, so writing a plan can only fail on I/O.

import { statSync } from 'node:fs';
import type { Bytes } from '../units.js';
import { lfnEntryCount } from './direntry.js';
import { fatGeometry } from './geometry.js';
import { assignShortNames, checkLongName, nameKey, normalizeLabel } from './names.js';
import { DIRENT_SIZE, FAT32_ROOT_CLUSTER } from './spec.js';
import { encodeFatStamp } from './timestamps.js';
import { FatError, type FatFormatOptions, type FatGeometry, type FatTree, type FatTreeEntry } from './types.js';

const MAX_FILE_SIZE: Bytes = 0xffffffff;

interface PlannedBase {
  /** Path from the volume root, '' for the root itself. */
  path: string;
  name: string;
  /** 11-byte stored short name. */
  short: Uint8Array;
  /** Whether LFN entries precede the short entry. */
  lfn: boolean;
  /** 0 for an empty file (and for the FAT12/16 root, which lives outside the data area). */
  firstCluster: number;
  clusters: number;
}

export interface PlannedFile extends PlannedBase {
  kind: 'file';
  size: Bytes;
  source: { path: string } | { data: Uint8Array };
}

export interface PlannedDir extends PlannedBase {
  kind: 'dir';
  children: PlannedNode[];
  /** Bytes of directory entries, `.`/`..`/label included. */
  entryBytes: Bytes;
}

export type PlannedNode = PlannedFile | PlannedDir;

export interface FatPlan {
  geometry: FatGeometry;
  /** Stored label, 11 characters; '' when the volume has none. */
  label: string;
  serial: number;
  timestamp: number;
  root: PlannedDir;
  usedClusters: number;
  freeClusters: number;
  /** First free cluster after the content: the FSInfo next-free hint. */
  nextFreeCluster: number;
  /** Bytes of file content (the part of the write that is copying, not metadata). */
  contentBytes: Bytes;
}

function newDir(path: string, name: string): PlannedDir {
  return { kind: 'dir', path, name, short: new Uint8Array(11), lfn: false, firstCluster: 0, clusters: 0, children: [], entryBytes: 0 };
}

function checkFile(path: string, entry: Extract<FatTreeEntry, { kind: 'file' }>): void {
  const { size, source } = entry;
  if (!Number.isSafeInteger(size) || size < 0) throw new FatError(`'${path}': size must be a non-negative integer, got ${size}`, 'path');
  if (size > MAX_FILE_SIZE) throw new FatError(`'${path}' is ${size} bytes; a FAT file holds at most ${MAX_FILE_SIZE} (4 GiB - 1)`, 'path');
  if ('data' in source) {
    if (source.data.length !== size) throw new FatError(`'${path}': size says ${size} bytes but the data has ${source.data.length}`, 'path');
  } else {
    let seen: number;
    try {
      seen = statSync(source.path).size;
    } catch (e) {
      throw new FatError(`'${path}': cannot read its source ${source.path}: ${(e as Error).message}`, 'path');
    }
    if (seen !== size) throw new FatError(`'${path}': size says ${size} bytes but ${source.path} has ${seen}`, 'path');
  }
}

/** Builds the directory tree from the flat map, creating implied parents and rejecting clashes. */
function buildTree(tree: FatTree): PlannedDir {
  const root = newDir('', '');
  const dirs = new Map<string, PlannedDir>([['', root]]);
  const keys = new Map<PlannedDir, Map<string, string>>();
  const place = (parent: PlannedDir, node: PlannedNode): void => {
    let seen = keys.get(parent);
    if (!seen) keys.set(parent, (seen = new Map()));
    const other = seen.get(nameKey(node.name));
    if (other !== undefined) {
      throw new FatError(`'${node.path}' and '${other}' differ only by case (or are the same); FAT names are case-insensitive`, 'path');
    }
    seen.set(nameKey(node.name), node.path);
    parent.children.push(node);
  };
  const ensureDir = (path: string): PlannedDir => {
    const known = dirs.get(path);
    if (known) return known;
    const cut = path.lastIndexOf('/');
    const parent = ensureDir(cut < 0 ? '' : path.slice(0, cut));
    const dir = newDir(path, path.slice(cut + 1));
    place(parent, dir);
    dirs.set(path, dir);
    return dir;
  };
  const files = new Set<string>();
  for (const [path, entry] of [...tree].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) {
    if (path === '' || path.startsWith('/') || path.endsWith('/')) throw new FatError(`path '${path}' must be relative, without leading or trailing '/'`, 'path');
    const parts = path.split('/');
    parts.forEach((p) => checkLongName(p, path));
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (files.has(prefix)) throw new FatError(`'${path}' needs '${prefix}' to be a directory, but it is a file`, 'path');
    }
    if (entry.kind === 'dir') {
      if (files.has(path)) throw new FatError(`'${path}' is both a file and a directory`, 'path');
      ensureDir(path);
      continue;
    }
    if (dirs.has(path)) throw new FatError(`'${path}' is both a file and a directory`, 'path');
    checkFile(path, entry);
    const cut = path.lastIndexOf('/');
    const parent = ensureDir(cut < 0 ? '' : path.slice(0, cut));
    files.add(path);
    place(parent, {
      kind: 'file', path, name: parts.at(-1)!, short: new Uint8Array(11), lfn: false, firstCluster: 0, clusters: 0,
      size: entry.size, source: entry.source,
    });
  }
  return root;
}

function utf8Order(a: PlannedNode, b: PlannedNode): number {
  return Buffer.compare(Buffer.from(a.name, 'utf8'), Buffer.from(b.name, 'utf8'));
}

/** Sorts children, assigns short names and sizes every directory's entry area. */
function nameDirectory(dir: PlannedDir, isRoot: boolean, hasLabel: boolean): void {
  dir.children.sort(utf8Order);
  const shorts = assignShortNames(dir.children.map((c) => c.name));
  let entries = isRoot ? (hasLabel ? 1 : 0) : 2;
  dir.children.forEach((child, i) => {
    child.short = shorts[i]!.short;
    child.lfn = shorts[i]!.needsLfn;
    entries += 1 + (child.lfn ? lfnEntryCount(child.name) : 0);
    if (child.kind === 'dir') nameDirectory(child, false, false);
  });
  dir.entryBytes = entries * DIRENT_SIZE;
}

export function planFatVolume(opts: FatFormatOptions, tree: FatTree): FatPlan {
  const geometry = fatGeometry(opts);
  const label = normalizeLabel(opts.label);
  if (!Number.isInteger(opts.serial) || opts.serial < 0 || opts.serial > 0xffffffff) {
    throw new FatError(`serial must be a u32, got ${opts.serial}`, 'serial');
  }
  encodeFatStamp(opts.timestamp); // rejects dates FAT cannot store, before any work
  const root = buildTree(tree);
  nameDirectory(root, true, label !== '');

  const fixedRoot = geometry.type !== 'fat32';
  if (fixedRoot && root.entryBytes > geometry.rootEntries * DIRENT_SIZE) {
    throw new FatError(
      `root directory full: its ${root.children.length} names need ${root.entryBytes / DIRENT_SIZE} entries, a ${geometry.type.toUpperCase()} root holds ${geometry.rootEntries}; move files into a subdirectory`,
      'path',
    );
  }

  const { clusterSize, clusterCount } = geometry;
  const lastCluster = clusterCount + 1;
  let next = FAT32_ROOT_CLUSTER;
  let contentBytes = 0;
  const allocate = (node: PlannedNode, bytes: Bytes, minimum: number): void => {
    node.clusters = Math.max(minimum, Math.ceil(bytes / clusterSize));
    node.firstCluster = node.clusters === 0 ? 0 : next;
    next += node.clusters;
    if (next - 1 > lastCluster) {
      const needed = next - FAT32_ROOT_CLUSTER;
      throw new FatError(
        `content does not fit: at '${node.path || '/'}' it already needs ${needed} clusters of ${clusterSize} bytes, the volume has ${clusterCount}`,
        'size',
      );
    }
  };
  const walk = (dir: PlannedDir): void => {
    for (const child of dir.children) {
      if (child.kind === 'dir') {
        allocate(child, child.entryBytes, 1);
        walk(child);
      } else {
        allocate(child, child.size, 0);
        contentBytes += child.size;
      }
    }
  };
  if (!fixedRoot) allocate(root, root.entryBytes, 1);
  walk(root);
  const usedClusters = next - FAT32_ROOT_CLUSTER;
  return {
    geometry,
    label,
    serial: opts.serial >>> 0,
    timestamp: opts.timestamp,
    root,
    usedClusters,
    freeClusters: clusterCount - usedClusters,
    nextFreeCluster: next,
    contentBytes,
  };
}
