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
//
// Node has no fcntl and no maintained npm package provides OFD locks, so a tiny Perl program
// (perl-base is part of every Debian and Ubuntu system) takes the lock on a descriptor we opened
// and hand it as its fd 3, closes its copy, answers on stdout and exits. An OFD lock belongs to
// the open file description, which we share: it stays held while our descriptor is open, and
// goes when we close it (release) or when this process dies in any way. As the helper has
// closed its copy before it answers, we go on at the answer, without waiting for it to exit
// (process exit and its reaping cost here a few ms more), and releasing waits for nothing.

import { closeSync, constants, existsSync, openSync } from 'node:fs';
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { BankforgeError } from '../support/errors.js';

export interface WriteLock { release(): Promise<void> }

/** The helper's command line in ps and /proc while it locks, so that a refusal seen then can name the bankforge behind it. */
const TITLE = 'bankforge-write-lock for pid';

// F_OFD_SETLK is 37 on Linux (all architectures); struct flock on 64-bit Linux is
// { short l_type; short l_whence; off_t l_start; off_t l_len; pid_t l_pid } padded to 32 bytes.
// F_WRLCK is 1 and SEEK_SET 0; EAGAIN (11) or EACCES (13) mean someone holds a conflicting lock.
// Numbers rather than `use Fcntl`: the helper's start-up is on every writer's path.
const HELPER = String.raw`
$| = 1; $0 = "${TITLE} " . getppid();
open(my $fh, '+<&=', 3) or do { print "error $!\n"; exit 1 };
my $answer = "locked";
for my $byte (101, 201) {
  next if fcntl($fh, 37, pack('s s x4 q q l x4', 1, 0, $byte, 1, 0));
  $answer = $! == 11 || $! == 13 ? "busy" : "error $!"; last;
}
close($fh);
print "$answer\n";
`;

/** The byte ranges bankforge locks (for tests and docs): QEMU's "write" permission and "write not shared" bytes. */
export const LOCKED_BYTES = [101, 201] as const;

/** Debian's perl-base puts perl here; by path, so a PATH without it (a service, a test) still locks. */
const PERL = existsSync('/usr/bin/perl') ? '/usr/bin/perl' : 'perl';

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
  // Loaded here: node:child_process costs a read-only command's start-up about as much as its
  // work. Loaded synchronously, so that the helper is started before this call first returns and
  // runs while the caller goes on with what it does not need the lock for (reading a bundle).
  const { spawn } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  const answer = await new Promise<string>((resolve) => {
    const child = spawn(PERL, ['-e', HELPER], { stdio: ['ignore', 'pipe', 'ignore', fd] });
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (s: string) => {
      out += s;
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    child.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ENOENT' ? 'noperl' : `error ${e.message}`));
    child.once('close', () => resolve(out.trim() || 'error the lock helper exited'));
  });
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
