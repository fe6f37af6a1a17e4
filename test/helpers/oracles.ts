// The outside tools that judge our images: sgdisk for the GPT, fsck.fat for each FAT partition.
// Both look at a block device with the image's sector size, through a loop device.

import * as assert from 'uvu/assert';
import { withLoop } from './loop.js';
import { tool } from './tools.js';

/** sgdisk -v must say "No problems found"; returns sgdisk -p's listing. */
export async function sgdiskVerify(image: string, sectorSize: 512 | 4096): Promise<string> {
  return withLoop(image, sectorSize, async (dev) => {
    const v = await tool('sgdisk', ['-v', dev]);
    assert.is(v.exitCode, 0, `sgdisk -v ${image}:\n${v.all}`);
    assert.match(v.stdout, /No problems found/, `sgdisk -v ${image}:\n${v.all}`);
    // sgdisk also finds "no problems" in a disk without a GPT, after inventing one in memory.
    assert.not.match(v.all, /Creating new GPT entries/, `sgdisk -v ${image} found no GPT:\n${v.all}`);
    const p = await tool('sgdisk', ['-p', dev]);
    assert.is(p.exitCode, 0, p.all);
    return p.stdout;
  }, { readOnly: true });
}

/** fsck.fat -n on one partition must exit 0 and report nothing to fix. */
export async function fsckPartition(image: string, sectorSize: 512 | 4096, offset: number, size: number): Promise<string> {
  return withLoop(image, sectorSize, async (dev) => {
    const r = await tool('fsck.fat', ['-n', dev]);
    // A clean check prints its banner and one summary line; every complaint adds lines.
    const lines = r.all.trim().split('\n');
    assert.is(r.exitCode, 0, `fsck.fat -n on ${image} at byte ${offset}:\n${r.all}`);
    assert.is(lines.length, 2, `fsck.fat -n on ${image} at byte ${offset} has remarks:\n${r.all}`);
    assert.match(lines[1]!, /: \d+ files, \d+\/\d+ clusters$/);
    return r.all;
  }, { readOnly: true, offset, sizeLimit: size });
}
