// The pure parts of flash: /proc/self/mountinfo and /proc/swaps parsing (fixtures, including the
// escapes and btrfs's anonymous device numbers), the refusal rules on described disks, the
// regions a flash clears, and the progress line.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { build } from '../../../builder/build.js';
import type { DeviceInfo } from '../../../disk/flash/devices.js';
import { FlashRefusal } from '../../../disk/flash/errors.js';
import { openImage } from '../../../disk/flash/image.js';
import { parseMountinfo, parseSwaps } from '../../../disk/flash/mounts.js';
import { makePlan, PARTITION_WINDOW, staleFatMetadata } from '../../../disk/flash/plan.js';
import { formatBytes, progressLine } from '../../../disk/flash/progress.js';
import { checkTarget } from '../../../disk/flash/safety.js';
import { parseBootSector } from '../../../partitions/fat/bootsector.js';
import { quiet } from '../../helpers/images.js';
import { scratch } from '../../helpers/tools.js';

const MiB = 1024 * 1024;

test('mountinfo: device numbers, escaped mount points, optional fields, btrfs sources', () => {
  const text = [
    '26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard',
    '41 26 8:17 / /media/usb\\040stick rw,nosuid shared:7 master:1 - vfat /dev/sdb1 rw,fmask=0022',
    '52 26 0:45 /@home /home rw,relatime shared:30 - btrfs /dev/mapper/luks-1 rw,subvol=/@home',
    '',
  ].join('\n');
  assert.equal(parseMountinfo(text), [
    { devno: '254:0', mountpoint: '/', fstype: 'ext4', source: '/dev/vda' },
    { devno: '8:17', mountpoint: '/media/usb stick', fstype: 'vfat', source: '/dev/sdb1' },
    { devno: '0:45', mountpoint: '/home', fstype: 'btrfs', source: '/dev/mapper/luks-1' },
  ]);
  assert.throws(() => parseMountinfo('26 1 254:0 / /\n'), /mountinfo line "26 1 254:0 \/ \/"/);
});

test('swaps: partitions only (a swap file lives on a filesystem that is mounted anyway)', () => {
  const text = 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/sdc2  partition\t8388604\t0\t-2\n/swapfile  file\t1048572\t0\t-3\n';
  assert.equal(parseSwaps(text), ['/dev/sdc2']);
});

const disk = (over: Partial<DeviceInfo>): DeviceInfo => ({
  name: 'sdb', path: '/dev/sdb', size: 16 * 1024 * MiB, sectorSize: 512, model: 'Cruzer Blade', vendor: 'SanDisk',
  transport: 'usb', removable: true, readOnly: false, partitions: [], mounted: [], holders: [], system: false, ...over,
});
const img = { path: 'esxi.img', size: 752 * MiB, sectorSize: 512 };
const refusal = (d: DeviceInfo, allowFixed = false): string => {
  try { checkTarget(d, img, { allowFixed }); return ''; } catch (e) { assert.instance(e, FlashRefusal); return (e as Error).message; }
};

test('refusal rules: system, mounted, in use, fixed unless --allow-fixed, read-only, too small, sector size', () => {
  assert.is(refusal(disk({})), '');
  assert.is(refusal(disk({ removable: false })), '', 'USB disks that say they are fixed are still USB');
  assert.is(refusal(disk({ transport: 'loop', removable: false })), '', 'loop devices are test targets');
  assert.match(refusal(disk({ transport: 'sata', removable: false })), /it is a fixed sata disk \(not removable, not USB\); pass --allow-fixed/);
  assert.is(refusal(disk({ transport: 'sata', removable: false }), true), '');
  assert.match(refusal(disk({ system: true, mounted: [{ device: '/dev/sdb2', mountpoint: '/' }] }), true), /it holds the running system \(\/dev\/sdb2 on \/\)/);
  assert.match(refusal(disk({ mounted: [{ device: '/dev/sdb1', mountpoint: '/media/x' }] })), /it has mounted filesystems \(\/dev\/sdb1 on \/media\/x\); unmount them first/);
  assert.match(refusal(disk({ holders: ['dm-3'] })), /it is in use by \/dev\/dm-3/);
  assert.match(refusal(disk({ readOnly: true })), /it is read-only/);
  assert.match(refusal(disk({ size: 512 * MiB })), /it is too small: 512 MiB \(536870912 bytes\), the image needs 752 MiB \(788529152 bytes\)/);
  assert.match(refusal(disk({ sectorSize: 4096 })), /its logical sectors are 4096 bytes and the image was built for 512-byte sectors/);
  assert.match(refusal(disk({ readOnly: true, size: 1 })), /read-only.*; it is too small/, 'every reason is given at once');
});

test('what a flash clears: both ends of every partition, each FAT\'s metadata, the image\'s own backup GPT', async () => {
  const { dir, cleanup } = await scratch('bankforge-plan-');
  try {
    const out = join(dir, 'small.img');
    const r = await build({ layout: 'small', out, version: '1.0.0', progress: quiet });
    const source = await openImage(out);
    const deviceSize = r.manifest.diskSize + 64 * MiB;
    const plan = makePlan(source.gpt, source.size, deviceSize);
    assert.is(plan.headEnd, r.manifest.partitions[0]!.offset);
    assert.is(plan.tailStart, deviceSize - MiB);
    assert.is(plan.imageTableStart, r.manifest.diskSize - 33 * 512);
    for (const p of r.manifest.partitions) {
      const covered = (start: number, end: number) => plan.stale.some((s) => s.start <= start && end <= s.end);
      assert.ok(covered(p.offset, p.offset + Math.min(PARTITION_WINDOW, p.size)), `${p.name}: first 512 KiB`);
      assert.ok(covered(p.offset + p.size - Math.min(PARTITION_WINDOW, p.size), p.offset + p.size), `${p.name}: last 512 KiB (bank state records)`);
    }
    assert.ok(plan.stale.some((s) => s.start <= plan.imageTableStart && s.end >= r.manifest.diskSize), 'the image backup GPT area');
    const bank = r.manifest.partitions.find((p) => p.name === 'bootbank')!;
    const { readFile } = await import('node:fs/promises');
    const boot = (await readFile(out)).subarray(bank.offset, bank.offset + 512);
    const v = parseBootSector(Buffer.from(boot));
    assert.equal(staleFatMetadata(plan, bank.offset, Buffer.from(boot)), [{ start: bank.offset, end: bank.offset + v.firstDataSector * 512 }]);
    assert.equal(staleFatMetadata(plan, bank.offset, Buffer.alloc(512)), [], 'no FAT, nothing more');
  } finally {
    await cleanup();
  }
});

test('progress line: percentage, bytes, rate and time left', () => {
  assert.is(formatBytes(1536), '1.5 KiB');
  assert.is(formatBytes(752 * MiB), '752 MiB');
  assert.is(progressLine('writing', 0, 100 * MiB, 0), 'writing     0%  0 B of 100 MiB');
  assert.is(progressLine('writing', 25 * MiB, 100 * MiB, 1000), 'writing    25%  25 MiB of 100 MiB  25 MiB/s  ETA 0:03');
  assert.is(progressLine('verifying', 3 * 1024 * MiB, 4 * 1024 * MiB, 3_000_000), 'verifying  75%  3.0 GiB of 4.0 GiB  1.0 MiB/s  ETA 16:40');
});

test.run();
