// `bankforge initramfs`: a gzip-compressed newc cpio for a Linux payload, made from host
// directories and/or a busybox-static binary, reproducibly: entries sorted by path (a
// directory before what it holds), owner root, one mtime (SOURCE_DATE_EPOCH), modes reduced to
// 0755 for directories and executables and 0644 for other files, gzip with no name and no time
// in its header. Same inputs, same bytes, whatever the host's clock, umask or user.
//
// What it holds: the directories' contents (later ones replace earlier ones' files); with a
// busybox binary, /bin/busybox and /bin/sh pointing to it (an /init script can run
// `/bin/busybox --install -s` for the other applets); the tool that marks the booted bank good
// (/sbin/bankforge-state, linuxtool/) when given; always /dev/console, so that /init has a
// console before it mounts devtmpfs, the mount points /dev, /proc, /sys and /tmp, and /bin, /sbin,
// /usr/bin and /usr/sbin for busybox's applet links.

import { lstat, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync, constants } from 'node:zlib';
import { BankforgeError } from '../../support/errors.js';
import { writeOutput, checkOutputPath } from '../../support/output-file.js';
import { writeCpio, type CpioEntry } from './cpio.js';
import { readInput } from '../pipeline/linux.js';

export interface InitramfsOptions {
  out: string;
  /** Host directories copied to the root, in order (a later one's file replaces an earlier one's). */
  dirs?: string[];
  /** A static busybox binary: /bin/busybox, with /bin/sh linked to it. */
  busybox?: string;
  /** The mark-good tool binary, placed at /sbin/bankforge-state. */
  stateTool?: string;
  /** SOURCE_DATE_EPOCH: every entry's mtime (default 0). */
  epoch?: number;
}

export const STATE_TOOL_PATH = 'sbin/bankforge-state';
/** Directories, links and files per input directory, so that a loop in the tree cannot run away. */
const MAX_ENTRIES = 100_000;

type Tree = Map<string, CpioEntry>;

function addDirs(tree: Tree, path: string): void {
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const d = parts.slice(0, i).join('/');
    const e = tree.get(d);
    if (e && e.kind !== 'dir') throw new BankforgeError(`initramfs: ${d} is both a file and a directory`);
    if (!e) tree.set(d, { kind: 'dir', path: d, mode: 0o755 });
  }
}

function put(tree: Tree, e: CpioEntry): void {
  addDirs(tree, e.path);
  const old = tree.get(e.path);
  if (old?.kind === 'dir' && e.kind !== 'dir') throw new BankforgeError(`initramfs: ${e.path} is both a directory and a file`);
  tree.set(e.path, e);
}

async function addHostDir(tree: Tree, root: string): Promise<void> {
  let count = 0;
  const walk = async (dir: string, rel: string): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch (e) {
      throw new BankforgeError(`initramfs --dir ${root}: cannot read ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    for (const name of names) {
      if (++count > MAX_ENTRIES) throw new BankforgeError(`initramfs --dir ${root}: more than ${MAX_ENTRIES} entries`);
      const host = join(dir, name);
      const path = rel ? `${rel}/${name}` : name;
      const st = await lstat(host);
      if (st.isDirectory()) {
        put(tree, { kind: 'dir', path, mode: 0o755 });
        await walk(host, path);
      } else if (st.isSymbolicLink()) {
        put(tree, { kind: 'symlink', path, target: await readlink(host) });
      } else if (st.isFile()) {
        put(tree, { kind: 'file', path, mode: st.mode & 0o111 ? 0o755 : 0o644, data: await readFile(host) });
      } else {
        throw new BankforgeError(`initramfs --dir ${root}: ${path} is not a file, directory or symbolic link (device nodes come from devtmpfs at boot)`);
      }
    }
  };
  await walk(root, '');
}

/** The archive's bytes (gzip-compressed newc cpio). */
export async function makeInitramfs(opts: Omit<InitramfsOptions, 'out'>): Promise<Buffer> {
  const tree: Tree = new Map();
  for (const d of ['bin', 'dev', 'proc', 'sbin', 'sys', 'tmp', 'usr/bin', 'usr/sbin']) put(tree, { kind: 'dir', path: d, mode: 0o755 });
  put(tree, { kind: 'chardev', path: 'dev/console', mode: 0o600, major: 5, minor: 1 });
  if (opts.busybox) {
    put(tree, { kind: 'file', path: 'bin/busybox', mode: 0o755, data: await readInput(opts.busybox, 'busybox') });
    put(tree, { kind: 'symlink', path: 'bin/sh', target: 'busybox' });
  }
  if (opts.stateTool) put(tree, { kind: 'file', path: STATE_TOOL_PATH, mode: 0o755, data: await readInput(opts.stateTool, 'the mark-good tool') });
  for (const d of opts.dirs ?? []) await addHostDir(tree, d);
  // Sorted by path bytes: a directory sorts before its contents ("a" < "a/b").
  const entries = [...tree.values()].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  const cpio = writeCpio(entries, opts.epoch ?? 0);
  // Node's gzip header carries no name and mtime 0; level 9 so the bytes do not depend on a default.
  return gzipSync(cpio, { level: constants.Z_BEST_COMPRESSION });
}

export async function buildInitramfs(opts: InitramfsOptions): Promise<{ out: string; size: number }> {
  checkOutputPath(opts.out);
  const data = await makeInitramfs(opts);
  await writeOutput(opts.out, (tmp) => writeFile(tmp, data));
  return { out: opts.out, size: data.length };
}
