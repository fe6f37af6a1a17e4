// A deterministic POSIX ustar writer for the bank's module archives (kernel/ustar.c reads
// them): entries sorted by path, directories before their contents, every header with uid and
// gid 0, owner and group "root", one fixed mtime (the build's SOURCE_DATE_EPOCH), modes 0755 for
// directories and 0644 for files, and the archive ended by two zero blocks. Same files in,
// same bytes out, whatever the host's umask, clock or user.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BankforgeError } from '../../support/errors.js';

const BLOCK = 512;

export interface TarEntry { path: string; data?: Buffer }

function octal(n: number, width: number): string {
  // width - 1 digits and a NUL, as POSIX writes numeric fields.
  const s = n.toString(8);
  if (s.length > width - 1) throw new BankforgeError(`tar: ${n} does not fit in a ${width}-byte field`);
  return `${s.padStart(width - 1, '0')}\0`;
}

/** Where ustar stores `path`: a name of at most 100 bytes and a prefix of at most 155, split at a '/'. */
function splitPath(path: string, dir: boolean): { name: string; prefix: string } | undefined {
  const full = dir ? `${path}/` : path;
  if (Buffer.byteLength(full) <= 100) return { name: full, prefix: '' };
  const cut = full.lastIndexOf('/', full.length - 2);
  const name = full.slice(cut + 1);
  const prefix = full.slice(0, cut);
  return cut < 0 || Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155 ? undefined : { name, prefix };
}

/** Why `path` cannot be stored in a ustar archive, or undefined when it can. */
export function ustarPathProblem(path: string, dir: boolean): string | undefined {
  return splitPath(path, dir) ? undefined : `path "${path}" is too long for a ustar archive (a name of at most 100 bytes after a directory part of at most 155)`;
}

function header(path: string, size: number, dir: boolean, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const split = splitPath(path, dir);
  if (!split) throw new BankforgeError(`tar: ${ustarPathProblem(path, dir)}`);
  const { name, prefix } = split;
  h.write(name, 0, 'utf8');
  h.write(octal(dir ? 0o755 : 0o644, 8), 100, 'latin1');
  h.write(octal(0, 8), 108, 'latin1');
  h.write(octal(0, 8), 116, 'latin1');
  h.write(octal(size, 12), 124, 'latin1');
  h.write(octal(mtime, 12), 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write(dir ? '5' : '0', 156, 'latin1');
  h.write('ustar\0' + '00', 257, 'latin1');
  h.write('root', 265, 'latin1');
  h.write('root', 297, 'latin1');
  h.write(octal(0, 8), 329, 'latin1');
  h.write(octal(0, 8), 337, 'latin1');
  h.write(prefix, 345, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/** The archive of `entries` (a directory has no data); parents are added when missing. */
export function ustar(entries: TarEntry[], mtime: number): Buffer {
  const all = new Map<string, TarEntry>();
  for (const e of entries) {
    if (!e.path || e.path.startsWith('/') || e.path.split('/').some((c) => c === '' || c === '.' || c === '..')) {
      throw new BankforgeError(`tar: ${JSON.stringify(e.path)} is not a plain relative path`);
    }
    all.set(e.path, e);
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!all.has(dir)) all.set(dir, { path: dir });
    }
  }
  const out: Buffer[] = [];
  // Byte order of the paths, so a directory ("etc") sorts before its contents ("etc/passwd").
  for (const path of [...all.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) {
    const e = all.get(path)!;
    out.push(header(path, e.data?.length ?? 0, !e.data, mtime));
    if (e.data) {
      out.push(e.data);
      if (e.data.length % BLOCK) out.push(Buffer.alloc(BLOCK - (e.data.length % BLOCK)));
    }
  }
  out.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(out);
}

/**
 * Every file and directory under `root`, as archive entries relative to it. Files named
 * .keep only hold an otherwise empty directory in git: the directory is kept, not the file.
 * Synchronous: base/ is a few small files, which every build reads, and each read through the
 * thread pool is four round trips of 50-100 µs on these machines (docs/performance.md).
 */
export function treeEntries(root: string): TarEntry[] {
  const out: TarEntry[] = [];
  function walk(rel: string): void {
    for (const d of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) {
        out.push({ path });
        walk(path);
      } else if (d.isFile()) {
        if (d.name !== '.keep') out.push({ path, data: readFileSync(join(root, path)) });
      } else {
        throw new BankforgeError(`${join(root, path)}: only files and directories go into a module archive`);
      }
    }
  }
  walk('');
  return out;
}
