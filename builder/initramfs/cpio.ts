// The "newc" cpio format the Linux kernel unpacks into its initial root file system
// (Documentation/driver-api/early-userspace/buffer-format.rst): per entry a 110-byte ASCII
// header ("070701" and thirteen 8-digit hex fields), the NUL-terminated name padded to 4 bytes,
// the data padded to 4 bytes; the archive ends with the entry "TRAILER!!!".

import { BankforgeError } from '../../support/errors.js';

export type CpioEntry =
  | { kind: 'dir'; path: string; mode: number }
  | { kind: 'file'; path: string; mode: number; data: Buffer }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chardev'; path: string; mode: number; major: number; minor: number };

const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000, S_IFCHR = 0o020000;
const TRAILER = 'TRAILER!!!';

const hex8 = (n: number, what: string): string => {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new BankforgeError(`cpio: ${what} ${n} does not fit in 32 bits`);
  return n.toString(16).padStart(8, '0');
};
const pad4 = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);

function record(ino: number, mode: number, nlink: number, mtime: number, name: string, data: Buffer, rdev: [number, number] = [0, 0]): Buffer[] {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const fields = [ino, mode, 0, 0, nlink, mtime, data.length, 0, 0, rdev[0], rdev[1], nameBytes.length, 0];
  const names = ['ino', 'mode', 'uid', 'gid', 'nlink', 'mtime', 'size of ' + name, 'devmajor', 'devminor', 'rdevmajor', 'rdevminor', 'name length', 'check'];
  const header = Buffer.from(`070701${fields.map((f, i) => hex8(f, names[i]!)).join('')}`, 'latin1');
  return [header, nameBytes, pad4(header.length + nameBytes.length), data, pad4(data.length)];
}

/**
 * The archive of `entries` in the order given (callers sort them), every entry owned by root,
 * with modification time `mtime` and inode numbers counted from 1: the same entries give the
 * same bytes.
 */
export function writeCpio(entries: readonly CpioEntry[], mtime: number): Buffer {
  const out: Buffer[] = [];
  entries.forEach((e, i) => {
    const ino = i + 1;
    switch (e.kind) {
      case 'dir': out.push(...record(ino, S_IFDIR | (e.mode & 0o7777), 2, mtime, e.path, Buffer.alloc(0))); break;
      case 'file': out.push(...record(ino, S_IFREG | (e.mode & 0o7777), 1, mtime, e.path, e.data)); break;
      case 'symlink': out.push(...record(ino, S_IFLNK | 0o777, 1, mtime, e.path, Buffer.from(e.target, 'utf8'))); break;
      case 'chardev': out.push(...record(ino, S_IFCHR | (e.mode & 0o7777), 1, mtime, e.path, Buffer.alloc(0), [e.major, e.minor])); break;
    }
  });
  out.push(...record(0, 0, 1, 0, TRAILER, Buffer.alloc(0)));
  return Buffer.concat(out);
}
