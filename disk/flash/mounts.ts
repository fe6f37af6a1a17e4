// What the running system uses: mounted filesystems (/proc/self/mountinfo) and swap areas
// (/proc/swaps), as the block devices they sit on. Parsers are pure so tests can feed fixtures.

import { readFile, readlink, realpath } from 'node:fs/promises';
import { basename } from 'node:path';

export interface Mount {
  /** major:minor of the filesystem's device (btrfs and other multi-device filesystems report a 0:N anonymous device). */
  devno: string;
  /** The mount source as written, e.g. /dev/sda1. */
  source: string;
  mountpoint: string;
  fstype: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * proc(5): `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`:
 * field 3 is major:minor, 5 the mount point; after the optional fields and "-" come the
 * filesystem type and the source.
 */
export function parseMountinfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (f.length < 10 || dash < 0 || dash + 2 >= f.length) throw new Error(`mountinfo line ${JSON.stringify(line)}: expected "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ... - FSTYPE SOURCE OPTIONS"`);
    out.push({ devno: f[2]!, mountpoint: unescape(f[4]!), fstype: unescape(f[dash + 1]!), source: unescape(f[dash + 2]!) });
  }
  return out;
}

/** /proc/swaps: a header line, then "Filename Type Size Used Priority". Swap files are skipped: they live on a mounted filesystem already. */
export function parseSwaps(text: string): string[] {
  return text.split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 2 && f[1] === 'partition').map((f) => unescape(f[0]!));
}

/** A use of a block device by the running system. */
export interface DeviceUse { device: string; mountpoint: string }

/** Block device name (vda1, dm-0) -> what is mounted from it (swap shows as "[swap]"). */
export async function usesByDevice(): Promise<Map<string, DeviceUse[]>> {
  const [mountinfo, swaps] = await Promise.all([readFile('/proc/self/mountinfo', 'utf8'), readFile('/proc/swaps', 'utf8').catch(() => 'header\n')]);
  const out = new Map<string, DeviceUse[]>();
  const add = (name: string | undefined, use: DeviceUse): void => {
    if (!name) return;
    const list = out.get(name) ?? [];
    if (!list.some((u) => u.mountpoint === use.mountpoint)) list.push(use);
    out.set(name, list);
  };
  for (const m of parseMountinfo(mountinfo)) {
    // Both ways: the device number is exact for ordinary filesystems; the source path is all
    // there is for btrfs, whose device number is an anonymous 0:N.
    const byNumber = m.devno.startsWith('0:') ? undefined : await readlink(`/sys/dev/block/${m.devno}`).then(basename, () => undefined);
    add(byNumber, { device: m.source, mountpoint: m.mountpoint });
    if (m.source.startsWith('/dev/')) add(await deviceName(m.source), { device: m.source, mountpoint: m.mountpoint });
  }
  for (const s of parseSwaps(swaps)) add(await deviceName(s), { device: s, mountpoint: '[swap]' });
  return out;
}

/** /dev/disk/by-uuid/… or /dev/mapper/… -> the kernel's name (sda1, dm-0); undefined when it is not there. */
async function deviceName(path: string): Promise<string | undefined> {
  return realpath(path).then((p) => (p.startsWith('/dev/') ? basename(p) : undefined), () => undefined);
}
