// One writer at a time on an image or a device, and never while QEMU has it open: the lock that
// openBlockDevice takes before every state-changing write (docs/architecture.md, "One writer at a
// time"). It is QEMU's own image lock, seen from the other side. QEMU (block/file-posix.c) holds
// an open-file-description (OFD) fcntl read lock on byte 100 + n for each permission bit n it
// uses and on byte 200 + n for each one it does not share with other users; bit 0 is "consistent
// read", bit 1 "write", bit 3 "resize". A guest disk opened for writing locks 100, 101 and 201;
// read-only or with -snapshot it still locks 201 (nobody else may write under it). bankforge
// takes an exclusive (write) OFD lock on bytes 101 and 201, which conflicts with every one of
// those read locks, so: a bankforge write is refused while any QEMU has the image, a QEMU
// started during a bankforge write is refused ("Failed to lock byte 101"), and two bankforge
// writers exclude each other atomically (two write locks conflict; there is no check-then-lock
// window).
// The lock itself is support/ofd-lock.ts' (an OFD lock, taken by a small helper).

import { closeSync, constants, openSync } from 'node:fs';
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { BankforgeError } from '../support/errors.js';
import { takeOfdLock } from '../support/ofd-lock.js';

export interface WriteLock { release(): Promise<void> }

/** The helper's command line in ps and /proc while it locks, so that a refusal seen then can name the bankforge behind it. */
const TITLE = 'bankforge-write-lock for pid';

/** The byte ranges bankforge locks (for tests and docs): QEMU's "write" permission and "write not shared" bytes. */
export const LOCKED_BYTES = [101, 201] as const;

/**
 * Takes the exclusive write lock on `path` (an image file or a block device), or refuses with exit
 * 3 naming who holds it. Nothing is written either way.
 */
export async function lockForWriting(path: string): Promise<WriteLock> {
  // Read-write, as a write lock needs; opening writes nothing, and a device is not opened O_EXCL here.
  // Synchronously, so that the helper starts now: a caller that goes on with synchronous work while
  // it runs (flash checks the image meanwhile) would otherwise start it only once that work is
  // done, since a thread-pool open completes on a later turn of the event loop.
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new BankforgeError(`cannot lock ${path} for writing: ${err.code === 'EACCES' || err.code === 'EROFS' ? 'not writable' : err.message}; nothing was written`);
  }
  // Started before this call first returns (the helper's spawn is synchronous), so that it runs
  // while the caller goes on with what it does not need the lock for (reading a bundle).
  const answer = await takeOfdLock(fd, LOCKED_BYTES, { wait: false, title: TITLE });
  if (answer === 'locked') {
    let released = false;
    return {
      release: async () => {
        if (!released) closeSync(fd);
        released = true;
      },
    };
  }
  closeSync(fd);
  if (answer === 'busy') {
    const who = await holders(path);
    throw new BankforgeError(`${path} is in use by ${who.length ? who.join(', ') : 'another process'} (it holds QEMU's image lock or bankforge's write lock); nothing was written. Stop it, or boot with --snapshot, and try again`);
  }
  if (answer === 'noperl') throw new BankforgeError(`cannot lock ${path} for writing: perl not found (install the Debian package perl-base); nothing was written`);
  throw new BankforgeError(`cannot lock ${path} for writing: ${answer.replace(/^error /, '')}; nothing was written`);
}

/**
 * Who has `path` open with a lock on it, as "pid N (command line)", from /proc (OFD locks show
 * no owner in /proc/locks; each holder's fdinfo lists them), this process included (a lock it
 * holds itself). Best effort: unreadable entries (another user's processes without root) are
 * skipped.
 */
export async function holders(path: string): Promise<string[]> {
  const target = await stat(path).catch(() => undefined);
  if (!target) return [];
  const same = (s: Awaited<ReturnType<typeof stat>>) =>
    target.isBlockDevice() ? s.isBlockDevice() && s.rdev === target.rdev : s.dev === target.dev && s.ino === target.ino;
  const found: string[] = [];
  const pids = (await readdir('/proc').catch(() => [])).filter((p) => /^\d+$/.test(p));
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    let locked = false;
    for (const fd of fds) {
      const st = await stat(`/proc/${pid}/fd/${fd}`).catch(() => undefined);
      if (!st || !same(st)) continue;
      const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => '');
      if (/^lock:/m.test(info)) { locked = true; break; }
    }
    if (!locked) continue;
    const cmd = await commandLine(pid);
    // A bankforge's lock is held by its helper: name the bankforge.
    const owner = cmd.startsWith(TITLE) ? cmd.slice(TITLE.length).trim() : pid;
    found.push(owner === pid ? `pid ${pid} (${cmd})` : `pid ${owner} (${await commandLine(owner)})`);
  }
  return found;
}

async function commandLine(pid: string): Promise<string> {
  const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean).join(' ')
    || (await readlink(`/proc/${pid}/exe`).catch(() => '?'));
  return cmd.length > 100 ? `${cmd.slice(0, 97)}...` : cmd;
}
