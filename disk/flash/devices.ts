// Candidate target disks, from sysfs (size, sector size, removable and read-only flags,
// partitions, holders, loop backing files) and lsblk (model, vendor, transport), with what the
// running system uses on each. `bankforge devices` lists them (asking lsblk too); `bankforge
// flash` judges one from sysfs alone.

import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { BankforgeError } from '../../support/errors.js';
import type { Bytes } from '../../partitions/units.js';
import { usesByDevice, type DeviceUse } from './mounts.js';

export type Transport = 'usb' | 'sata' | 'ata' | 'nvme' | 'scsi' | 'mmc' | 'virtio' | 'loop' | 'unknown' | (string & {});

export interface DeviceInfo {
  /** The kernel's name, e.g. sdb. */
  name: string;
  path: string;
  size: Bytes;
  /** Logical sector size: what the device addresses, and what a GPT on it must use. */
  sectorSize: number;
  model: string;
  vendor: string;
  transport: Transport;
  /** sysfs `removable` (media can be taken out: card readers, most USB sticks). */
  removable: boolean;
  readOnly: boolean;
  /** The file behind a loop device. */
  backingFile?: string;
  partitions: string[];
  /** Everything the running system has mounted from this disk, its partitions, or devices stacked on them (LVM, dm-crypt, RAID). */
  mounted: DeviceUse[];
  /** Device-mapper, RAID, loop or other devices built on this disk or its partitions, mounted or not. */
  holders: string[];
  /** Holds `/`. */
  system: boolean;
}

const SYS = '/sys/class/block';
/** RAM disks, compressed swap, optical drives, floppies and stacked devices are not flash targets. */
const NOT_DISKS = /^(ram|zram|sr|fd|dm-|md|nbd|drbd)/;

async function sysText(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').then((t) => t.trim(), () => undefined);
}

interface LsblkRow { name: string; tran: string | null; model: string | null; vendor: string | null }

/** Model, vendor and transport as lsblk reports them (it decodes udev's escaped model strings). */
async function lsblk(): Promise<Map<string, LsblkRow>> {
  const { execa } = await import('execa');
  const r = await execa('lsblk', ['--json', '--nodeps', '--output', 'NAME,TRAN,MODEL,VENDOR'], { reject: false, encoding: 'utf8' });
  if (r.exitCode !== 0) throw new BankforgeError(`lsblk failed (exit ${r.exitCode}): ${String(r.stderr).trim() || 'is util-linux installed?'}`);
  const rows = (JSON.parse(r.stdout) as { blockdevices: LsblkRow[] }).blockdevices;
  return new Map(rows.map((row) => [row.name, row]));
}

/** Partitions of `name` (sysfs lists them as subdirectories with a `partition` file). */
async function partitionsOf(name: string): Promise<string[]> {
  const entries = await readdir(`${SYS}/${name}`).catch(() => [] as string[]);
  const parts: string[] = [];
  for (const e of entries) if (e.startsWith(name) && (await sysText(`${SYS}/${name}/${e}/partition`)) !== undefined) parts.push(e);
  return parts.sort();
}

/** Devices stacked on `name`, recursively (dm-0 on sdb1, dm-1 on dm-0). */
async function holdersOf(name: string): Promise<string[]> {
  const direct = await readdir(`${SYS}/${name}/holders`).catch(() => [] as string[]);
  const out: string[] = [];
  for (const h of direct) out.push(h, ...(await holdersOf(h)));
  return out;
}

/**
 * The bus, from the device's place in sysfs, as lsblk finds it too (a USB stick's path runs
 * through a usb controller). Used when lsblk is not asked: flash judges one disk and should
 * not wait for a subprocess.
 */
async function sysfsTransport(name: string): Promise<Transport> {
  if (name.startsWith('loop')) return 'loop';
  const path = await realpath(`${SYS}/${name}`).catch(() => '');
  if (/\/usb\d*\//.test(path)) return 'usb';
  if (name.startsWith('nvme')) return 'nvme';
  if (name.startsWith('mmcblk')) return 'mmc';
  if (/\/virtio\d+\//.test(path)) return 'virtio';
  if (/\/ata\d+\//.test(path)) return 'sata';
  return 'unknown';
}

/** Loop devices whose backing file is one of `names` (a loop over a disk does not show in its holders). */
async function loopsOver(names: string[]): Promise<string[]> {
  const paths = new Set(names.map((n) => `/dev/${n}`));
  const loops = (await readdir('/sys/block')).filter((n) => n.startsWith('loop'));
  const out: string[] = [];
  for (const l of loops) {
    const backing = await sysText(`${SYS}/${l}/loop/backing_file`);
    if (backing && paths.has(await realpath(backing).catch(() => backing))) out.push(l);
  }
  return out;
}

async function describe(name: string, row: LsblkRow | undefined, uses: Map<string, DeviceUse[]>): Promise<DeviceInfo> {
  const dir = `${SYS}/${name}`;
  const partitions = await partitionsOf(name);
  const stacked = await loopsOver([name, ...partitions]);
  const holders = [...stacked, ...(await Promise.all([name, ...partitions, ...stacked].map(holdersOf))).flat()];
  const mounted = [name, ...partitions, ...holders].flatMap((n) => uses.get(n) ?? []);
  const backingFile = await sysText(`${dir}/loop/backing_file`);
  return {
    name,
    path: `/dev/${name}`,
    // sysfs counts 512-byte units whatever the logical sector size.
    size: Number(await sysText(`${dir}/size`) ?? 0) * 512,
    sectorSize: Number(await sysText(`${dir}/queue/logical_block_size`) ?? 512),
    model: (row?.model ?? (await sysText(`${dir}/device/model`)) ?? '').trim(),
    vendor: (row?.vendor ?? (await sysText(`${dir}/device/vendor`)) ?? '').trim(),
    transport: row?.tran ?? (await sysfsTransport(name)),
    removable: (await sysText(`${dir}/removable`)) === '1',
    readOnly: (await sysText(`${dir}/ro`)) === '1',
    ...(backingFile ? { backingFile } : {}),
    partitions,
    mounted,
    holders,
    system: mounted.some((m) => m.mountpoint === '/'),
  };
}

/** Every disk that could be a target (loop devices only while attached), system disks included and marked. */
export async function listDevices(): Promise<DeviceInfo[]> {
  const names = (await readdir('/sys/block')).filter((n) => !NOT_DISKS.test(n));
  const [rows, uses] = await Promise.all([lsblk(), usesByDevice()]);
  const all = await Promise.all(names.sort().map((n) => describe(n, rows.get(n), uses)));
  return all.filter((d) => d.size > 0);
}

/** The disk at `path` (a /dev node or a symlink such as /dev/disk/by-id/…). Throws when it is not a whole disk. */
export async function describeDevice(path: string): Promise<DeviceInfo> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new BankforgeError(`${path}: ${e.code === 'ENOENT' ? 'no such device' : e.message}`);
  });
  if (!st.isBlockDevice()) throw new BankforgeError(`${path} is not a block device (give a disk such as /dev/sdb; see bankforge devices)`);
  const name = basename(await realpath(path));
  const parent = (await sysText(`${SYS}/${name}/partition`)) !== undefined ? basename(await realpath(`${SYS}/${name}/..`)) : undefined;
  if (parent) throw new BankforgeError(`${path} is partition ${name} of /dev/${parent}; give the whole disk, /dev/${parent}`);
  return describe(name, undefined, await usesByDevice());
}
