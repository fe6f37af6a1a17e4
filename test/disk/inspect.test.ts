// `bankforge inspect` on good and damaged images: what a user sees, and the exit code CI sees.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { open, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { build, DEFAULT_BOOT_TIMEOUT } from '../../builder/build.js';
import type { Manifest } from '../../builder/manifest.js';
import { scratch } from '../helpers/tools.js';
import { cli } from '../helpers/cli.js';
import { bootCfg } from '../../builder/pipeline/bank.js';
import { fileSectorDevice } from '../../partitions/fat/index.js';
import { RawVolume } from '../../partitions/fat/raw.js';

const quiet = { step() {}, done() {} };

async function withImage(ss: 512 | 4096, fn: (img: string, m: Manifest) => Promise<void>): Promise<void> {
  const { dir, cleanup } = await scratch();
  try {
    const img = join(dir, 'small.img');
    const { manifest } = await build({ layout: 'small', out: img, version: '4.5.6', sectorSize: ss, progress: quiet });
    await fn(img, manifest);
  } finally {
    await cleanup();
  }
}

async function flipByte(path: string, offset: number): Promise<void> {
  const fh = await open(path, 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, offset);
  b[0]! ^= 0x5a;
  await fh.write(b, 0, 1, offset);
  await fh.close();
}

test('a clean image: table, FAT labels and files, exit 0', async () => {
  await withImage(512, async (img, m) => {
    const r = await cli(['inspect', img]);
    assert.is(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`disk GUID ${m.diskGuid}`));
    assert.match(r.stdout, /^2\s+bootbank\s+basic-data\s+\d+\s+\d+\s+20 MiB\s+fat16\s+BOOTBANK1\s+/m);
    assert.match(r.stdout, /^5\s+coredump\s+vmkdiagnostic\s+\d+\s+\d+\s+8 MiB\s+raw$/m);
    assert.match(r.stdout, new RegExp(`boot\\.cfg  \\(${Buffer.byteLength(bootCfg({ version: '4.5.6', updated: 1, timeout: DEFAULT_BOOT_TIMEOUT, kernelopt: '' }))} bytes\\)`));
    const j = JSON.parse((await cli(['inspect', img, '--json'])).stdout);
    assert.equal(j.warnings, []);
    assert.equal(j.partitions.map((p: { fat?: { type: string } }) => p.fat?.type ?? 'raw'), ['fat12', 'fat16', 'fat16', 'fat16', 'raw']);
    assert.equal(j.partitions.map((p: { guid: string }) => p.guid), m.partitions.map((p) => p.guid));
    // Both banks start valid with the built version, generation 1, full tries, one "installed" event.
    const banks = j.partitions.filter((p: { bank?: unknown }) => p.bank).map((p: { name: string; bank: Record<string, unknown> }) =>
      [p.name, p.bank.bank, p.bank.bootstate, p.bank.version, p.bank.updated, p.bank.triesLeft, (p.bank.history as { event: string }[]).map((h) => h.event)]);
    assert.equal(banks, [['bootbank', 'A', 'valid', '4.5.6', 1, 3, ['installed']], ['altbootbank', 'B', 'valid', '4.5.6', 1, 3, ['installed']]]);
    assert.match(r.stdout, /^bootbank: bank A, valid, version 4\.5\.6, updated 1, tries 3\/3, seq 1 in slot 0$/m);
  });
});

for (const ss of [512, 4096] as const) {
  test(`primary GPT header corrupted: inspect warns, reads the backup, exit 4 (${ss})`, async () => {
    await withImage(ss, async (img, m) => {
      await flipByte(img, ss + 24);
      const r = await cli(['inspect', img, '--sector-size', String(ss)]);
      assert.is(r.exitCode, 4, r.stderr);
      assert.match(r.stderr, /warning: primary GPT header at byte \d+: header CRC32/);
      assert.match(r.stderr, /warning: using the backup GPT/);
      assert.match(r.stdout, /read from the backup GPT/);
      for (const p of m.partitions) assert.match(r.stdout, new RegExp(`^${p.number}\\s+${p.name}\\s`, 'm'));
    });
  });

  test(`primary GPT entry array corrupted: inspect warns and reads the backup (${ss})`, async () => {
    await withImage(ss, async (img, m) => {
      await flipByte(img, 2 * ss + 130);
      const j = JSON.parse((await cli(['inspect', img, '--json'])).stdout);
      assert.is(j.gptSource, 'backup');
      assert.ok(j.warnings.some((w: string) => /primary GPT entry array at byte \d+: CRC32/.test(w)), j.warnings.join('\n'));
      assert.equal(j.partitions.map((p: { name: string }) => p.name), m.partitions.map((p) => p.name));
    });
  });
}

test('FAT copies that differ are reported with the offset', async () => {
  await withImage(512, async (img, m) => {
    const bank = m.partitions.find((p) => p.name === 'bootbank')!;
    const boot = Buffer.alloc(512);
    const fh = await open(img, 'r');
    await fh.read(boot, 0, 512, bank.offset);
    await fh.close();
    const reserved = boot.readUInt16LE(14), perFat = boot.readUInt16LE(22);
    // A byte in the second FAT copy only.
    await flipByte(img, bank.offset + (reserved + perFat) * 512 + 100);
    const r = await cli(['inspect', img]);
    assert.is(r.exitCode, 4);
    assert.match(r.stderr, /warning: partition 2 \(bootbank\): .*FAT.*differ.*byte/i);
  });
});

test('a truncated image: backup GPT missing and partitions past the end are reported', async () => {
  await withImage(512, async (img) => {
    await truncate(img, 40 * 1024 * 1024);
    const r = await cli(['inspect', img]);
    assert.is(r.exitCode, 4, r.stderr);
    assert.match(r.stderr, /warning: backup GPT header at byte \d+: signature/);
    assert.match(r.stderr, /warning: partition 4 \(store\): ends at byte \d+, past the end of the disk/);
    assert.match(r.stderr, /warning: partition 5 \(coredump\): ends at byte \d+, past the end of the disk/);
  });
});

test('not an image: a clear error and exit 3', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const f = join(dir, 'zeros.img');
    const fh = await open(f, 'w');
    await fh.truncate(1024 * 1024);
    await fh.close();
    const r = await cli(['inspect', f]);
    assert.is(r.exitCode, 3);
    assert.match(r.stderr, /zeros\.img: no valid GPT: .*primary GPT header at byte 512: signature is bytes 0000000000000000/);
    const missing = await cli(['inspect', join(dir, 'nope.img')]);
    assert.is(missing.exitCode, 3);
    assert.match(missing.stderr, /cannot open .*nope\.img: no such file/);
  } finally {
    await cleanup();
  }
});

/** Points the ESP's EFI/BOOT directory entry (its first-cluster field, FAT12/16: byte 26) at `cluster(EFI's cluster)`. */
async function relinkBootDir(img: string, m: Manifest, cluster: (efi: number) => number): Promise<void> {
  const esp = m.partitions[0]!;
  const dev = await fileSectorDevice(img, esp.offset, esp.size, 512, false);
  const raw = await RawVolume.open(dev);
  const efi = (await raw.lookup('EFI'))!;
  const boot = (await raw.lookup('EFI/BOOT'))!;
  const at = esp.offset + boot.parent!.volumeOffset(boot.entry!.offset);
  await dev.close();
  const fh = await open(img, 'r+');
  const link = Buffer.alloc(2);
  link.writeUInt16LE(cluster(efi.dirCluster));
  await fh.write(link, 0, 2, at + 26);
  await fh.close();
}

test('a directory entry that points back at an ancestor: listed once, a warning, exit 4, no hang', async () => {
  await withImage(512, async (img, m) => {
    // EFI/BOOT's first cluster becomes EFI's own: EFI -> BOOT -> EFI -> ...
    await relinkBootDir(img, m, (efi) => efi);
    const r = await cli(['inspect', img, '--json']);
    assert.is(r.exitCode, 4, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.ok(j.warnings.some((w: string) => /^partition 1 \(bootloader\): directory EFI\/BOOT points at cluster \d+, which is directory EFI; not listed again$/.test(w)), j.warnings.join('\n'));
    assert.equal(j.partitions[0].fat.files.map((f: { path: string }) => f.path), ['EFI', 'EFI/BOOT']);
  });
});

test('a directory whose cluster chain is broken: a warning and exit 4, not an error', async () => {
  await withImage(512, async (img, m) => {
    await relinkBootDir(img, m, () => 0xfff); // past the last cluster of a 4 MiB FAT12 volume
    const r = await cli(['inspect', img, '--json']);
    assert.is(r.exitCode, 4, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.ok(j.warnings.some((w: string) => /^partition 1 \(bootloader\): directory EFI\/BOOT: cluster chain from 4095 reaches cluster 4095, outside/.test(w)), j.warnings.join('\n'));
  });
});

test.run();
