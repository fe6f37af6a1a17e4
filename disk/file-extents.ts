// Where a file holds data, as the filesystem knows it: lseek(SEEK_DATA / SEEK_HOLE) from start
// to end. Everything outside these extents is a hole, which the kernel reads as zeros without
// touching the disk; so a check that a range of an image is zeros only has to read the extents
// that overlap it. Node has no lseek, so a few lines of Perl (perl-base is on every Debian and
// Ubuntu system; the write lock uses it too) walk the file and print one extent a line. A
// filesystem without SEEK_DATA reports the whole file as one extent: the caller then reads it
// all, as it would without this.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Bytes } from '../partitions/units.js';

export interface Extent { start: Bytes; end: Bytes }

/** More extents than this and the file is treated as all data: the answer would cost more than the reads it saves. */
const MAX_EXTENTS = 65536;

// SEEK_DATA is 3 and SEEK_HOLE 4 on Linux; sysseek returns undef (ENXIO) once no data follows, and
// "0 but true" for offset 0 (hence the + 0).
const WALKER = String.raw`
open(my $fh, '<', $ARGV[0]) or exit 1;
my ($at, $n) = (0, 0);
while (defined(my $data = sysseek($fh, $at, 3))) {
  my $hole = sysseek($fh, $data, 4); defined $hole or exit 1;
  print $data + 0, " ", $hole + 0, "\n"; $at = $hole;
  exit 2 if ++$n > ${MAX_EXTENTS};
}
`;

const PERL = existsSync('/usr/bin/perl') ? '/usr/bin/perl' : 'perl';

/** The data extents of the regular file at `path`, in order; undefined when they cannot be had (then treat it all as data). */
export function dataExtents(path: string): Promise<Extent[] | undefined> {
  // Never rejects: a caller may give up on the file (a bad .bmap, no partition table) before it awaits the answer.
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(PERL, ['-e', WALKER, path], { stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return resolve(undefined);
    }
    child.once('error', () => resolve(undefined));
    // No pipe could be made (out of descriptors): the spawn's 'error' follows.
    if (!child.stdout) return;
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => { out += s; });
    child.once('close', (code) => {
      if (code !== 0) return resolve(undefined);
      const extents: Extent[] = [];
      for (const line of out.split('\n')) {
        if (line === '') continue;
        const m = /^(\d+) (\d+)$/.exec(line);
        const start = Number(m?.[1]), end = Number(m?.[2]);
        // Anything unexpected (an extent out of order, a number past 2^53): no answer rather than a wrong one.
        if (!m || !Number.isSafeInteger(end) || start >= end || start < (extents.at(-1)?.end ?? 0)) return resolve(undefined);
        extents.push({ start, end });
      }
      resolve(extents);
    });
  });
}
