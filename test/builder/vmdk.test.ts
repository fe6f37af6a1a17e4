// The VMDK output is reproducible: its CID comes from the raw image's sha256 and its extent is
// named after the final file, not qemu-img's temporary one; qemu-img still reads the same disk.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeOutputs } from '../../builder/outputs/write.js';
import { fixVmdkDescriptor } from '../../builder/outputs/vmdk.js';
import { MiB } from '../../partitions/units.js';
import { scratch, tool } from '../helpers/tools.js';

const descriptor = (vmdk: Buffer): string => vmdk.subarray(512, 512 * 21).toString('latin1').replace(/\0+$/, '');

test('CID from the content, extent named as the final file, same bytes twice, same disk for qemu-img', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const image = join(dir, 'disk.img');
    const raw = Buffer.alloc(4 << 20);
    raw.write('bankforge vmdk test', 1 << 20);
    await writeFile(image, raw);
    const sha = createHash('sha256').update(raw).digest('hex');
    const built = { image, size: raw.length, dataRanges: [{ offset: MiB, length: MiB }] };
    const { files: [out] } = await writeOutputs(built, ['vmdk'], () => {});
    assert.is(out, join(dir, 'disk.vmdk'));
    const first = await readFile(out!);
    const text = descriptor(first);
    assert.match(text, new RegExp(`^CID=${sha.slice(0, 8)}$`, 'm'));
    assert.match(text, /^RW 8192 SPARSE "disk\.vmdk"$/m);
    assert.not.match(text, /partial/);
    const cmp = await tool('qemu-img', ['compare', '-f', 'raw', '-F', 'vmdk', image, out!]);
    assert.is(cmp.exitCode, 0, cmp.all);
    assert.is((await tool('qemu-img', ['check', out!])).exitCode, 0);
    // Again, with the sha256 given as the build gives it: byte for byte the same file.
    await rename(out!, join(dir, 'first.vmdk'));
    await writeOutputs({ ...built, sha256: sha }, ['vmdk'], () => {});
    assert.ok((await readFile(out!)).equals(first));
  } finally {
    await cleanup();
  }
});

test('a CID that qemu-img printed with fewer than 8 digits (no leading zeros: 1 file in 16) is replaced too', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const out = join(dir, 'short.vmdk');
    assert.is((await tool('qemu-img', ['create', '-q', '-f', 'vmdk', out, '4M'])).exitCode, 0);
    const bytes = await readFile(out);
    const text = descriptor(bytes);
    const short = text.replace(/^CID=[0-9a-f]+$/m, 'CID=badf00');
    assert.not.equal(short, text);
    bytes.fill(0, 512, 512 * 21);
    bytes.write(short, 512, 'latin1');
    await writeFile(out, bytes);
    const sha = 'c0ffee01'.padEnd(64, '0');
    await fixVmdkDescriptor(out, join(dir, 'final.vmdk'), sha);
    const fixed = descriptor(await readFile(out));
    assert.match(fixed, /^CID=c0ffee01$/m);
    assert.match(fixed, /^RW 8192 SPARSE "final\.vmdk"$/m);
  } finally {
    await cleanup();
  }
});

test.run();
