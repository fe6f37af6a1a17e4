import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile, truncate, open } from 'node:fs/promises';
import { join } from 'node:path';
import { writeGpt, readGpt, usableRange, type GptDisk } from '../../partitions/gpt.js';
import { GPT_TYPE_ALIASES } from '../../partitions/gpt-types.js';
import { guidFromBytes, guidToBytes } from '../../partitions/guid.js';
import { deriveGuid } from '../../partitions/seeded-ids.js';
import { scratch, mustRun, tool } from '../helpers/tools.js';
import { withLoop } from '../helpers/loop.js';
import { bufferSource } from '../helpers/file-source.js';

const MiB = 1024 * 1024;

function sampleDisk(sectorSize: 512 | 4096): GptDisk {
  const lba = (bytes: number) => bytes / sectorSize;
  return {
    sectorSize,
    sectorCount: lba(64 * MiB),
    diskGuid: deriveGuid('test', 'disk'),
    partitions: [
      { index: 0, typeGuid: GPT_TYPE_ALIASES.esp!, guid: deriveGuid('test', 'p1'), firstLba: lba(1 * MiB), lastLba: lba(5 * MiB) - 1, attributes: 1n, name: 'bootloader' },
      { index: 1, typeGuid: GPT_TYPE_ALIASES['basic-data']!, guid: deriveGuid('test', 'p2'), firstLba: lba(5 * MiB), lastLba: lba(21 * MiB) - 1, attributes: 0n, name: 'bootbank' },
      { index: 2, typeGuid: GPT_TYPE_ALIASES.vmkdiagnostic!, guid: deriveGuid('test', 'p3'), firstLba: lba(21 * MiB), lastLba: lba(63 * MiB) - 1, attributes: 1n << 63n, name: 'coredump ü' },
    ],
  };
}

async function writeDiskFile(path: string, disk: GptDisk): Promise<void> {
  await writeFile(path, '');
  await truncate(path, disk.sectorCount * disk.sectorSize);
  const fh = await open(path, 'r+');
  for (const e of writeGpt(disk)) await fh.write(e.data, 0, e.data.length, e.offset);
  await fh.close();
}

test('GUID on-disk form follows the UEFI mixed-endian layout', () => {
  // The ESP type GUID as the UEFI spec shows it on disk.
  const bytes = guidToBytes('C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
  assert.is(bytes.toString('hex'), '28732ac11ff8d211ba4b00a0c93ec93b');
  assert.is(guidFromBytes(bytes), 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
});

test('derived GUIDs are stable, distinct per purpose and marked version 4', () => {
  assert.is(deriveGuid('s', 'a'), deriveGuid('s', 'a'));
  assert.is.not(deriveGuid('s', 'a'), deriveGuid('s', 'b'));
  assert.is.not(deriveGuid('s', 'a'), deriveGuid('t', 'a'));
  assert.match(deriveGuid('s', 'a'), /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
});

for (const ss of [512, 4096] as const) {
  test(`sgdisk -v accepts our GPT and sgdisk -p shows our entries (${ss}-byte sectors)`, async () => {
    const { dir, cleanup } = await scratch();
    try {
      const disk = sampleDisk(ss);
      const img = join(dir, 'disk.img');
      await writeDiskFile(img, disk);
      await withLoop(img, ss, async (dev) => {
        const v = await tool('sgdisk', ['-v', dev]);
        assert.is(v.exitCode, 0, v.all);
        assert.match(v.stdout, /No problems found/, v.all);
        const p = await mustRun('sgdisk', ['-p', dev]);
        assert.match(p, new RegExp(`Sector size \\(logical/physical\\): ${ss}/`));
        assert.match(p, new RegExp(`Disk identifier \\(GUID\\): ${disk.diskGuid}`));
        assert.match(p, /^\s+1\s+\d+\s+\d+\s+4\.0 MiB\s+EF00\s+bootloader$/m);
        assert.match(p, /^\s+2\s+\d+\s+\d+\s+16\.0 MiB\s+0700\s+bootbank$/m);
        assert.match(p, /^\s+3\s+\d+\s+\d+\s+42\.0 MiB\s+FC00\s+coredump ü$/m);
        const i3 = await mustRun('sgdisk', ['-i', '3', dev]);
        assert.match(i3, new RegExp(`Partition unique GUID: ${disk.partitions[2]!.guid}`));
        assert.match(i3, /Attribute flags: 8000000000000000/);
      });
      const back = await readGpt(bufferSource(await readFile(img)));
      assert.equal(back.warnings, []);
      assert.is(back.sectorSize, ss);
      assert.equal(back.partitions, disk.partitions);
    } finally {
      await cleanup();
    }
  });

  test(`our reader parses a GPT made by sgdisk (${ss}-byte sectors)`, async () => {
    const { dir, cleanup } = await scratch();
    try {
      const img = join(dir, 'sg.img');
      await writeFile(img, '');
      await truncate(img, 32 * MiB);
      await withLoop(img, ss, async (dev) => {
        await mustRun('sgdisk', ['-o', '-U', 'R', '-n', '1:1MiB:+3MiB', '-t', '1:ef00', '-c', '1:EFI system', '-n', '2:0:+8MiB', '-t', '2:0700', '-c', '2:data', '-A', '2:set:62', dev]);
      });
      const info = await mustRun('sgdisk', ['-i', '2', img]).catch(() => '');
      const back = await readGpt(bufferSource(await readFile(img)));
      assert.equal(back.warnings, []);
      assert.is(back.sectorSize, ss);
      assert.is(back.partitions.length, 2);
      const [p1, p2] = back.partitions as [typeof back.partitions[0], typeof back.partitions[0]];
      assert.is(p1.typeGuid, GPT_TYPE_ALIASES.esp);
      assert.is(p1.name, 'EFI system');
      assert.is(p1.firstLba, MiB / ss);
      assert.is(p1.lastLba, 4 * MiB / ss - 1);
      assert.is(p2.typeGuid, GPT_TYPE_ALIASES['basic-data']);
      assert.is(p2.name, 'data');
      assert.is(p2.attributes, 1n << 62n);
      if (ss === 512) assert.match(info, new RegExp(`Partition unique GUID: ${p2.guid}`));
    } finally {
      await cleanup();
    }
  });
}

async function damaged(ss: 512 | 4096, offset: (d: GptDisk) => number): Promise<Buffer> {
  const disk = sampleDisk(ss);
  const buf = Buffer.alloc(disk.sectorCount * ss);
  for (const e of writeGpt(disk)) e.data.copy(buf, e.offset);
  buf[offset(disk)]! ^= 0xff;
  return buf;
}

for (const ss of [512, 4096] as const) {
  test(`primary header damaged: the backup is read and a warning names it (${ss})`, async () => {
    const r = await readGpt(bufferSource(await damaged(ss, () => ss + 60)), ss);
    assert.is(r.source, 'backup');
    assert.equal(r.partitions, sampleDisk(ss).partitions);
    assert.ok(r.warnings.some((w) => /primary GPT header at byte \d+: header CRC32/.test(w)), r.warnings.join('\n'));
    assert.ok(r.warnings.some((w) => /using the backup GPT/.test(w)));
  });

  test(`primary entry array damaged: the backup is read (${ss})`, async () => {
    const r = await readGpt(bufferSource(await damaged(ss, () => 2 * ss + 200)), ss);
    assert.is(r.source, 'backup');
    assert.equal(r.partitions, sampleDisk(ss).partitions);
    assert.ok(r.warnings.some((w) => /primary GPT entry array at byte \d+: CRC32/.test(w)), r.warnings.join('\n'));
  });

  test(`backup header damaged: the primary is read with a warning (${ss})`, async () => {
    const r = await readGpt(bufferSource(await damaged(ss, (d) => (d.sectorCount - 1) * ss + 30)));
    assert.is(r.source, 'primary');
    assert.ok(r.warnings.some((w) => /backup GPT header at byte \d+/.test(w)), r.warnings.join('\n'));
  });
}

test('primaryOnly: a valid primary is used without reading the backup; a damaged one still sends it there', async () => {
  const ss = 512;
  const buf = await damaged(ss, (d) => (d.sectorCount - 1) * ss + 30); // the backup header
  const reads: number[] = [];
  const src = bufferSource(buf);
  const recorded = { size: src.size, read: (o: number, l: number) => { reads.push(o); return src.read(o, l); } };
  const full = await readGpt(bufferSource(buf), ss);
  const r = await readGpt(recorded, ss, { primaryOnly: true });
  assert.equal(r, { ...full, backup: undefined, warnings: [] });
  const backupStart = (sampleDisk(ss).sectorCount - 33) * ss;
  assert.ok(reads.every((o) => o < backupStart), `read at ${reads.join(', ')}`);

  const primaryDamaged = await readGpt(bufferSource(await damaged(ss, () => ss + 60)), ss, { primaryOnly: true });
  assert.is(primaryDamaged.source, 'backup');
  assert.equal(primaryDamaged.partitions, sampleDisk(ss).partitions);
  assert.ok(primaryDamaged.warnings.some((w) => /using the backup GPT/.test(w)), primaryDamaged.warnings.join('\n'));
});

test('both copies damaged: readGpt refuses, naming both', async () => {
  const disk = sampleDisk(512);
  const buf = Buffer.alloc(disk.sectorCount * 512);
  for (const e of writeGpt(disk)) e.data.copy(buf, e.offset);
  buf[512 + 60]! ^= 1;
  buf[(disk.sectorCount - 1) * 512 + 60]! ^= 1;
  await readGpt(bufferSource(buf), 512).then(
    () => assert.unreachable('should have thrown'),
    (e: Error) => { assert.match(e.message, /no valid GPT/); assert.match(e.message, /primary/); assert.match(e.message, /backup/); },
  );
});

test('usable range leaves room for both entry arrays', () => {
  assert.equal(usableRange(512, 131072), { first: 34, last: 131038 });
  assert.equal(usableRange(4096, 16384), { first: 6, last: 16378 });
});

test.run();
