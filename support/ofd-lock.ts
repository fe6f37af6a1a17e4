// Open-file-description locks (fcntl F_OFD_SETLK / F_OFD_SETLKW) on a descriptor we opened: the
// primitive under the image write lock (disk/write-lock.ts) and the compile cache's entry lock
// (builder/pipeline/compile.ts). An OFD lock belongs to the open file description, not to a
// process: it is held while our descriptor is open, goes when we close it or when this process
// dies in any way (the lock file stays; no lock on it outlives a crash), and two descriptions
// conflict even within one process.
//
// Node has no fcntl and no maintained npm package provides OFD locks, so a tiny Perl program
// (perl-base is part of every Debian and Ubuntu system) takes the lock on our descriptor, handed
// to it as its fd 3, closes its copy, answers on stdout and exits. As the helper has closed its
// copy before it answers, we go on at the answer, without waiting for it to exit (process exit
// and its reaping cost here a few ms more), and releasing waits for nothing. A helper that waits
// (F_OFD_SETLKW) and whose caller died meanwhile takes the lock, fails to answer and exits,
// which releases it.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

// F_OFD_SETLK is 37 and F_OFD_SETLKW 38 on Linux (all architectures); struct flock on 64-bit
// Linux is { short l_type; short l_whence; off_t l_start; off_t l_len; pid_t l_pid } padded to 32
// bytes. F_WRLCK is 1 and SEEK_SET 0; EAGAIN (11) or EACCES (13) mean someone holds a conflicting
// lock. Numbers rather than `use Fcntl`: the helper's start-up is on every writer's path.
// Arguments: the command (37 or 38), then the bytes to lock, one byte each.
const HELPER = String.raw`
$| = 1; $0 = shift(@ARGV) . " " . getppid();
my $cmd = shift(@ARGV);
open(my $fh, '+<&=', 3) or do { print "error $!\n"; exit 1 };
my $answer = "locked";
for my $byte (@ARGV) {
  next if fcntl($fh, $cmd, pack('s s x4 q q l x4', 1, 0, $byte, 1, 0));
  $answer = $! == 11 || $! == 13 ? "busy" : "error $!"; last;
}
close($fh);
print "$answer\n";
`;

/** How long a killed helper may take to exit before the answer comes without it (one stuck in an uninterruptible wait). */
const KILL_GRACE_MS = 5000;

const F_OFD_SETLK = 37;
const F_OFD_SETLKW = 38;

/** Debian's perl-base puts perl here; by path, so a PATH without it (a service, a test) still locks. */
const PERL = existsSync('/usr/bin/perl') ? '/usr/bin/perl' : 'perl';

/** 'locked'; 'busy' (someone holds a conflicting lock; never when waiting); 'noperl'; or 'error ' and why. */
export type OfdAnswer = 'locked' | 'busy' | 'noperl' | `error ${string}`;

/**
 * Takes an exclusive lock on each of `bytes` of the file open on `fd` (opened read-write), or
 * answers why not. With `wait`, blocks until every byte is ours, or until `timeoutMs`: then the
 * helper is killed and the answer, an error, comes once it has exited (a helper still waiting
 * when the holder let go would otherwise take the lock on our description after we had given
 * up), or KILL_GRACE_MS later if it never does. A helper that got the lock as it was killed
 * leaves it on our description: on any answer but 'locked', the caller closes `fd`. `title`
 * names the helper in ps and /proc while it runs, followed by this process's pid, so that
 * whoever finds it can name us. Never rejects.
 */
export async function takeOfdLock(fd: number, bytes: readonly number[], opts: { wait: boolean; title: string; timeoutMs?: number }): Promise<OfdAnswer> {
  // Loaded here: node:child_process costs a read-only command's start-up about as much as its
  // work. Loaded synchronously, so that the helper is started before this call first returns and
  // runs while the caller goes on with what it does not need the lock for (reading a bundle).
  const { spawn } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  const args = ['-e', HELPER, opts.title, String(opts.wait ? F_OFD_SETLKW : F_OFD_SETLK), ...bytes.map(String)];
  return new Promise<OfdAnswer>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = (a: OfdAnswer): void => { clearTimeout(timer); resolve(a); };
    let child: import('node:child_process').ChildProcess;
    try {
      child = spawn(PERL, args, { stdio: ['ignore', 'pipe', 'ignore', fd] });
    } catch (e) {
      settle(`error ${(e as Error).message}`);
      return;
    }
    if (!child.stdout) {
      // No pipe could be made (out of descriptors): the spawn's 'error' follows.
      child.once('error', (e: NodeJS.ErrnoException) => settle(`error ${e.message}`));
      return;
    }
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => {
      out += s;
      if (out.includes('\n')) settle(answer(out.slice(0, out.indexOf('\n'))));
    });
    let timedOut = false;
    const bound = opts.timeoutMs ?? 0;
    const late = `error no lock after ${bound < 1000 ? `${bound} ms` : `${Math.round(bound / 1000)} s`}` as const;
    child.once('error', (e: NodeJS.ErrnoException) => settle(e.code === 'ENOENT' ? 'noperl' : `error ${e.message}`));
    child.once('close', () => settle(timedOut ? late : answer(out.trim() || 'error the lock helper exited')));
    if (opts.wait && opts.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
        timer = setTimeout(() => settle(late), KILL_GRACE_MS);
      }, opts.timeoutMs);
    }
  });
}

function answer(line: string): OfdAnswer {
  return line === 'locked' || line === 'busy' || line.startsWith('error ') ? (line as OfdAnswer) : `error the lock helper answered "${line}"`;
}
