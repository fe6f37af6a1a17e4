// `bankforge flash` onto loop devices (as root), judged by outside oracles: sgdisk -v, fsck.fat -n
// on every FAT partition, a QEMU boot of the device, bmaptool, and sha256 of the device before
// and after a refusal. Sticks start full of 0xAA so that anything left stale shows.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile, mkdir, open, readFile, rename, truncate, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { build } from '../../../builder/build.js';
import { openFileSource } from '../../../disk/file-source.js';
import { FlashFailure, FlashInterrupted } from '../../../disk/flash/errors.js';
import { EXIT } from '../../../support/exit-codes.js';
import { flash, HELPER_MIN } from '../../../disk/flash/flash.js';
import { lockForWriting } from '../../../disk/write-lock.js';
import { writeOutputs } from '../../../builder/outputs/write.js';
import { encodeBmap, parseBmap, rangeBytes, type BmapRange } from '../../../builder/outputs/bmap.js';
import { readGpt } from '../../../partitions/gpt.js';
import { cli } from '../../helpers/cli.js';
import { quiet } from '../../helpers/images.js';
import { withLoop } from '../../helpers/loop.js';
import { fsckPartition, sgdiskVerify } from '../../helpers/oracles.js';
import { mustRun, repoRoot, scratch, tool } from '../../helpers/tools.js';
import { sha256OfFile as sha256Of } from '../../helpers/file-bytes.js';
import { BOOT_MS, withMachine } from '../../helpers/machine.js';

const MiB = 1024 * 1024;
const { dir, cleanup } = await scratch('bankforge-flash-');

interface Built { image: string; size: number; sha256: string; partitions: { name: string; filesystem: string; offset: number; size: number }[] }

async function buildImage(name: string, layout: string, sectorSize: 512 | 4096 = 512): Promise<Built> {
  const image = join(dir, `${name}.img`);
  const r = await build({ layout, out: image, version: '1.0.0', sectorSize, bootTimeout: 0, progress: quiet, sha256: true });
  await writeOutputs({ image, size: r.manifest.diskSize, dataRanges: r.dataRanges }, ['bmap'], () => undefined);
  return { image, size: r.manifest.diskSize, sha256: r.manifest.image.sha256!, partitions: r.manifest.partitions };
}

const small = await buildImage('small', 'small');
// The small layout's 16 MiB FAT16 store cannot be built with 4096-byte sectors; the ESXi layout can.
const esxi4k = await buildImage('esxi4k', 'esxi', 4096);

/**
 * A stick's backing file of `size` bytes, every byte `fill` (0 leaves it a hole); with `dirtyTo`,
 * only the first `dirtyTo` bytes and the last 16 MiB are filled (big sticks stay cheap).
 */
async function stick(name: string, size: number, fill: number, dirtyTo = size): Promise<string> {
  const path = join(dir, `${name}.stick`);
  await writeFile(path, '');
  await truncate(path, size);
  if (fill !== 0) {
    const fh = await open(path, 'r+');
    const buf = Buffer.alloc(4 * MiB, fill);
    const fillRange = async (from: number, to: number) => {
      for (let at = from; at < to; at += buf.length) await fh.write(buf, 0, Math.min(buf.length, to - at), at);
    };
    await fillRange(0, dirtyTo);
    if (dirtyTo < size) await fillRange(Math.max(dirtyTo, size - 16 * MiB), size);
    await fh.close();
  }
  return path;
}

/** Byte `at` of the file at `path` XORed with `mask` (0 writes the same byte back: only the file's ctime moves). */
async function flipByte(path: string, at: number, mask: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    await fh.write(Buffer.from([b[0]! ^ mask]), 0, 1, at);
  } finally {
    await fh.close();
  }
}

/** The oracles: sgdisk -v, backup GPT at the device's last LBA, fsck.fat -n on every FAT. */
async function judge(dev: string, img: Built, ss: 512 | 4096): Promise<void> {
  await sgdiskVerify(dev, ss);
  const src = await openFileSource(dev);
  try {
    const gpt = await readGpt(src, ss);
    assert.equal(gpt.warnings, [], `readGpt ${dev}`);
    assert.is(gpt.backup?.myLba, src.size / ss - 1, 'backup GPT header in the last sector of the device');
  } finally {
    await src.close();
  }
  for (const p of img.partitions) if (p.filesystem !== 'raw') await fsckPartition(dev, ss, p.offset, p.size);
}

test('onto a stick full of old data: sgdisk -v, fsck.fat -n on every FAT and a QEMU boot of the device all pass', async () => {
  await withLoop(await stick('dirty', small.size + 24 * MiB, 0xaa), 512, async (dev) => {
    const r = await cli(['flash', small.image, dev, '--yes']);
    assert.is(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, /flashed .* verified .* read back from the device/);
    await judge(dev, small, 512);
    await withMachine({ image: dev, snapshot: true }, (m) => m.waitFor(/^bankforge: ready /, { timeoutMs: BOOT_MS }));
  });
});

test('bmaptool copy onto the same old data leaves FATs that fsck.fat rejects (what the clearing is for)', async () => {
  await withLoop(await stick('dirty-bmaptool', small.size + 24 * MiB, 0xaa), 512, async (dev) => {
    await mustRun('bmaptool', ['-q', 'copy', '--bmap', `${small.image}.bmap`, small.image, dev]);
    const bank = small.partitions.find((p) => p.name === 'bootbank')!;
    const r = await withLoop(dev, 512, (part) => tool('fsck.fat', ['-n', part]), { readOnly: true, offset: bank.offset, sizeLimit: bank.size });
    assert.ok(r.exitCode !== 0 || r.all.trim().split('\n').length > 2, `fsck.fat should complain:\n${r.all}`);
  });
});

test('4096-byte sectors: a 4Kn image onto a 4Kn stick passes sgdisk -v and fsck.fat; onto a 512-byte stick it is refused', async () => {
  // Old data over the first 160 MiB (ESP, both banks, the store's FATs) and the last 16 MiB.
  await withLoop(await stick('dirty4k', esxi4k.size + 24 * MiB, 0xaa, 160 * MiB), 4096, async (dev) => {
    const r = await cli(['flash', esxi4k.image, dev, '--yes']);
    assert.is(r.exitCode, 0, r.stderr);
    await judge(dev, esxi4k, 4096);
  });
  await withLoop(await stick('512for4k', esxi4k.size + 24 * MiB, 0xaa, 4 * MiB), 512, async (dev) => {
    const before = await sha256Of(dev);
    const r = await cli(['flash', esxi4k.image, dev, '--yes']);
    assert.is(r.exitCode, EXIT.refused, r.stderr);
    assert.match(r.stderr, /logical sectors are 512 bytes and the image was built for 4096-byte sectors/);
    assert.is(await sha256Of(dev), before);
  });
});

test('a byte changed on the device between write and verify is caught by a read that bypasses the page cache, and named', async () => {
  const file = await stick('corrupt', small.size + 8 * MiB, 0);
  const bank = small.partitions.find((p) => p.name === 'bootbank')!;
  const victim = bank.offset + 512; // the bank's first FAT: always written
  await withLoop(file, 512, async (dev) => {
    // Written behind the loop device's back, into its backing file: /dev/loopN's page cache
    // still holds the good byte, so only a read that goes to the device sees the change.
    const corrupt = (): Promise<void> => flipByte(file, victim, 0x5a);
    const err = await flash({ image: small.image, device: dev, afterWrite: corrupt }).then(() => undefined, (e: Error) => e);
    assert.instance(err, FlashFailure);
    assert.match(err!.message, new RegExp(`verify failed: ${dev} byte ${victim} \\(partition 2 \\(bootbank\\) \\+ 512\\) reads 0x[0-9a-f]{2}, the image has 0x[0-9a-f]{2}`));
  });
});

test('refusals write nothing: the root disk, a mounted device, a device too small, a qcow2 source, no terminal and no --yes, a device in use', async () => {
  const root = (await mustRun('findmnt', ['-n', '-o', 'SOURCE', '/'])).trim();
  const rootDisk = `/dev/${(await mustRun('lsblk', ['-n', '-d', '-o', 'PKNAME', root])).trim() || root.replace('/dev/', '')}`;
  // The sandbox here refuses even to open the root disk for reading (EPERM), so it cannot be
  // hashed; flash judges it from sysfs and /proc alone and never opens it.
  const r1 = await cli(['flash', small.image, rootDisk, '--yes']);
  assert.is(r1.exitCode, EXIT.refused, r1.stderr);
  assert.match(r1.stderr, /holds the running system \(.* on \/\)/);

  // The kernel here has no vfat driver, so the mounted filesystem is ext4, read-only, on the whole device.
  await withLoop(await stick('mounted', small.size + 8 * MiB, 0), 512, async (dev) => {
    await mustRun('mkfs.ext4', ['-q', '-F', dev]);
    const mnt = join(dir, 'mnt');
    await mustRun('mkdir', ['-p', mnt]);
    await mustRun('mount', ['-o', 'ro', dev, mnt]);
    try {
      const before = await sha256Of(dev);
      const r = await cli(['flash', small.image, dev, '--yes']);
      assert.is(r.exitCode, EXIT.refused, r.stderr);
      assert.match(r.stderr, new RegExp(`it has mounted filesystems \\(${dev} on ${mnt}\\)`));
      assert.is(await sha256Of(dev), before);
    } finally {
      await mustRun('umount', [mnt]);
    }
  });

  await withLoop(await stick('tiny', small.size - MiB, 0xaa), 512, async (dev) => {
    const before = await sha256Of(dev);
    const r = await cli(['flash', small.image, dev, '--yes']);
    assert.is(r.exitCode, EXIT.refused, r.stderr);
    assert.match(r.stderr, new RegExp(`too small: .*\\(${small.size - MiB} bytes\\), the image needs .*\\(${small.size} bytes\\)`));
    assert.is(await sha256Of(dev), before);
  });

  const qcow2 = join(dir, 'small.qcow2');
  await mustRun('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', small.image, qcow2]);
  await withLoop(await stick('victim', small.size + 8 * MiB, 0xaa), 512, async (dev) => {
    const before = await sha256Of(dev);
    const r = await cli(['flash', qcow2, dev, '--yes']);
    assert.is(r.exitCode, 3, r.stderr);
    assert.match(r.stderr, /is not a raw disk image: it is a qcow2 VM disk/);
    const r2 = await cli(['flash', small.image, dev]);
    assert.is(r2.exitCode, EXIT.refused, r2.stderr);
    assert.match(r2.stderr, /without confirmation: there is no terminal to ask on\. Pass --yes/);
    assert.is(await sha256Of(dev), before);
    // A stick another bankforge (or a QEMU) is writing: its write lock refuses the flash.
    const held = await lockForWriting(dev);
    try {
      const r3 = await cli(['flash', small.image, dev, '--yes']);
      assert.is(r3.exitCode, EXIT.refused, r3.stderr);
      assert.match(r3.stderr, /refusing to write \/dev\/loop\d+: .* is in use by pid \d+/);
    } finally {
      await held.release();
    }
    assert.is(await sha256Of(dev), before);
  });
});

test('bmaptool copy with our .bmap gives the image byte for byte, as does bankforge flash onto a stick of the same size', async () => {
  for (const how of ['bmaptool', 'bankforge'] as const) {
    await withLoop(await stick(`exact-${how}`, small.size, 0), 512, async (dev) => {
      const r = how === 'bmaptool'
        ? await tool('bmaptool', ['copy', '--bmap', `${small.image}.bmap`, small.image, dev])
        : await cli(['flash', small.image, dev, '--yes', '--quiet']);
      assert.is(r.exitCode, 0, r.stderr);
      assert.is(await sha256Of(dev), small.sha256, `${how}: device sha256 vs the manifest's image sha256`);
    });
  }
});

test('gz, xz and zst images are decompressed on the fly, with the .bmap and without it (zero detection, checked against the manifest)', async () => {
  const gz = `${small.image}.gz`, xz = `${small.image}.xz`, zst = `${small.image}.zst`;
  // The fastest levels: what is tested is the decompression, and xz's default on this image was
  // most of the file's tools' CPU.
  await mustRun('sh', ['-c', `gzip -1 -c ${small.image} > ${gz} && xz -0 -c ${small.image} > ${xz} && zstd -1 -q -c ${small.image} > ${zst}`]);
  for (const withBmap of [true, false]) {
    if (!withBmap) await rename(`${small.image}.bmap`, `${small.image}.bmap.away`);
    try {
      for (const image of [gz, xz, zst]) {
        await withLoop(await stick('compressed', small.size, 0xaa), 512, async (dev) => {
          const r = await cli(['flash', image, dev, '--yes']);
          assert.is(r.exitCode, 0, `${image} (bmap: ${withBmap}): ${r.stderr}`);
          // Holes are not written, so compare where the image has data: the FAT oracles and the partition table.
          await judge(dev, small, 512);
        });
      }
    } finally {
      if (!withBmap) await rename(`${small.image}.bmap.away`, `${small.image}.bmap`);
    }
  }
});

test('an image that does not match its manifest is refused before the first write (format 2 by block, format 1 by the whole image): exit 8, the stick unchanged', async () => {
  const other = join(dir, 'tampered.img');
  const otherManifest = other.replace(/\.img$/, '.manifest.json');
  await copyFile(small.image, other);
  const manifest = JSON.parse(await (await import('node:fs/promises')).readFile(small.image.replace(/\.img$/, '.manifest.json'), 'utf8'));
  manifest.image.file = 'tampered.img';
  const at = small.partitions[3]!.offset + 3 * MiB;
  const fh = await open(other, 'r+');
  await fh.write(Buffer.from('X'), 0, 1, at);
  await fh.close();
  const block = Math.floor(at / manifest.blocks.size);
  const v1 = { ...manifest, format: 1, blocks: undefined, partitions: [] };
  const cases: [object, RegExp][] = [
    [manifest, new RegExp(`tampered\\.img does not match .*tampered\\.manifest\\.json: block ${block} \\(bytes ${block * manifest.blocks.size}\\.\\.[0-9]+\\) (hashes to [0-9a-f]{64}, the manifest says [0-9a-f]{64}|holds data where the manifest declares a hole); nothing was written to `)],
    [v1, /tampered\.img does not match .*tampered\.manifest\.json: the image hashes to [0-9a-f]{64}, the manifest says [0-9a-f]{64}; nothing was written to /],
  ];
  for (const [m, message] of cases) {
    await writeFile(otherManifest, JSON.stringify(m));
    await withLoop(await stick('tampered', small.size + 8 * MiB, 0xaa, 16 * MiB), 512, async (dev) => {
      const before = await sha256Of(dev);
      const r = await cli(['flash', other, dev, '--yes']);
      assert.is(r.exitCode, EXIT.failed, r.stderr);
      assert.match(r.stderr, message);
      assert.is(await sha256Of(dev), before, 'the stick changed');
      // The same with --json: the error document on stdout.
      const j = await cli(['flash', other, dev, '--yes', '--json']);
      assert.is(j.exitCode, EXIT.failed);
      assert.is(JSON.parse(j.stdout).error.code, EXIT.failed);
    });
  }
});

test('a .bmap that leaves out data the image holds (a map of another build) is refused before the first write: exit 8, the stick unchanged', async () => {
  // The image and its manifest as built; the map without one range that holds data.
  const staleDir = join(dir, 'stale');
  await mkdir(staleDir);
  const image = join(staleDir, 'small.img');
  await copyFile(small.image, image);
  await copyFile(small.image.replace(/\.img$/, '.manifest.json'), image.replace(/\.img$/, '.manifest.json'));
  const map = parseBmap(await readFile(`${small.image}.bmap`, 'utf8'), `${small.image}.bmap`);
  const bytes = await readFile(image);
  const firstData = (r: BmapRange): number => {
    const { offset, length } = rangeBytes(map, r);
    const i = bytes.subarray(offset, offset + length).findIndex((b) => b !== 0);
    return i < 0 ? -1 : offset + i;
  };
  const dropped = map.ranges.slice(Math.floor(map.ranges.length / 2)).find((r) => firstData(r) >= 0)!;
  await writeFile(`${image}.bmap`, encodeBmap({ ...map, ranges: map.ranges.filter((r) => r !== dropped), mappedBlocksCount: map.mappedBlocksCount - (dropped.last - dropped.first + 1) }));
  await withLoop(await stick('stale', small.size + 8 * MiB, 0xaa, 16 * MiB), 512, async (dev) => {
    const before = await sha256Of(dev);
    for (const extra of [[], ['--no-verify']]) {
      const r = await cli(['flash', image, dev, '--yes', ...extra]);
      assert.is(r.exitCode, EXIT.failed, r.stderr);
      assert.match(r.stderr, `stale/small.img holds data at byte ${firstData(dropped)}, outside every range of ${image}.bmap, which flash would not write (a map of another build?); nothing was written to ${dev}`);
    }
    // A map with no ranges at all leaves out every byte (it was taken for no map, and flash wrote none of the data).
    await writeFile(`${image}.bmap`, encodeBmap({ ...map, ranges: [], mappedBlocksCount: 0 }));
    const empty = await cli(['flash', image, dev, '--yes']);
    assert.is(empty.exitCode, EXIT.failed, empty.stderr);
    assert.match(empty.stderr, `stale/small.img holds data at byte ${bytes.findIndex((b) => b !== 0)}, outside every range of ${image}.bmap`);
    assert.is(await sha256Of(dev), before, 'the stick changed');
  });
});

test('the image written to between the write and the verify: the flash fails saying the image changed, not the stick', async () => {
  // Verify compares the device with the raw file, held against its manifest before writing; a
  // file written since would make that comparison say nothing about the stick.
  const changing = await buildImage('changing', 'small');
  const victim = changing.partitions.find((p) => p.name === 'bootbank')!.offset + 512;
  await withLoop(await stick('changing', changing.size + 8 * MiB, 0), 512, async (dev) => {
    // 0 first: the same byte written back, so only the file's ctime says it was written; then a changed byte.
    for (const flip of [0, 0x5a]) {
      const touch = (): Promise<void> => flipByte(changing.image, victim, flip);
      const err = await flash({ image: changing.image, device: dev, afterWrite: touch }).then(() => undefined, (e: Error) => e);
      assert.instance(err, FlashFailure, String(err));
      assert.match(err!.message, `${changing.image} changed while it was flashed`);
      assert.match(err!.message, 'it was written completely but not verified');
    }
  });
});

test('interrupted while writing: FlashInterrupted, and the device has no partition table (nothing boots a half-written stick)', async () => {
  await withLoop(await stick('interrupted', small.size + 8 * MiB, 0), 512, async (dev) => {
    const done = await cli(['flash', small.image, dev, '--yes', '--quiet', '--json']);
    assert.is(done.exitCode, 0, done.stderr);
    const j = JSON.parse(done.stdout);
    assert.is(j.device.path, dev);
    assert.ok(j.dataBytes > 0 && j.verifiedBytes > 0 && j.verified === true, done.stdout);
    const abort = new AbortController();
    // Once writing has begun (the image is first checked against its sidecars, writing nothing).
    let phase = '';
    const progress = { phase(name: string) { phase = name; }, note() {}, update(done: number) { if (phase === 'writing' && done > 0) abort.abort(); } };
    const err = await flash({ image: small.image, device: dev, progress, signal: abort.signal }).then(() => undefined, (e: Error) => e);
    assert.instance(err, FlashInterrupted);
    const v = await tool('sgdisk', ['-v', dev]);
    assert.match(v.stdout, /Creating new GPT entries in memory/, `sgdisk found a table after the interruption:\n${v.all}`);
    const src = await openFileSource(dev);
    try {
      await readGpt(src, 512).then(() => assert.unreachable('readGpt found a GPT'), (e: Error) => assert.match(e.message, /no valid GPT/));
    } finally {
      await src.close();
    }
  });
});

test('a device that fails its data writes (the backing file on a full tmpfs): exit 8 naming the error, and no partition table', async () => {
  // Up to three data writes are out at once (writer.ts, WriteBehind): the first to fail must end
  // the flash as that error, with the head (the partition table) never written. The stick's first
  // and last MiB, where the old table is cleared and the new one goes, hold old data and so are
  // already in the 2 MiB tmpfs; every other write needs a page it no longer has (ENOSPC). The
  // tmpfs is mounted in a private mount namespace (unshare -m), so nothing else sees it; the loop
  // device is detached before the namespace goes.
  const full = join(dir, 'full-tmpfs');
  await mkdir(full);
  const { BIN } = await import('../../helpers/cli.js');
  const size = small.size + 8 * MiB;
  const script = `set -e; mount -t tmpfs -o size=2m tmpfs "$1"; s="$1/stick"; truncate -s ${size} "$s"
old() { head -c ${MiB} /dev/zero | tr '\\0' '\\252' | dd of="$s" bs=${MiB} iflag=fullblock conv=notrunc status=none "$@"; }
old; old seek=${Math.floor(size / MiB) - 1}
set +e; dev=$(losetup -f --show "$s") || exit 99
node "$2" flash "$3" "$dev" --yes --quiet; rc=$?
sgdisk -v "$dev"; losetup -d "$dev"; exit $rc`;
  const r = await tool('unshare', ['-m', 'sh', '-c', script, 'sh', full, BIN, small.image]);
  assert.is(r.exitCode, EXIT.failed, r.all);
  // The loop driver passes the backing file's ENOSPC on (kernel 6.18 here); older ones, or a
  // buffered loop, report any such error as EIO.
  assert.match(r.stderr, /bankforge: (ENOSPC: no space left on device|EIO: i\/o error), write; \/dev\/loop\d+ was being written: it is not bootable \(its partition table is written last, and was not\)/);
  assert.not.match(r.all, /internal error|nhandled/);
  assert.match(r.stdout, /Creating new GPT entries in memory/, `sgdisk found a table after the failed writes:\n${r.all}`);
});

test('Ctrl-C on the CLI: exit 130 and a message that the stick is not bootable', async () => {
  // The default layout, zstd-compressed, without a .bmap: writing decompresses and zero-checks all
  // 752 MiB, long enough to interrupt (a raw image's holes are skipped, a few milliseconds).
  const raw = join(dir, 'esxi.img');
  await build({ out: raw, version: '1.0.0', bootTimeout: 0, progress: quiet });
  const image = `${raw}.zst`;
  await mustRun('zstd', ['-q', raw, '-o', image]);
  await withLoop(await stick('ctrl-c', 800 * MiB, 0), 512, async (dev) => {
    const { execa } = await import('execa');
    const { BIN } = await import('../../helpers/cli.js');
    const p = execa(BIN, ['flash', image, dev, '--yes'], { reject: false, all: true, encoding: 'utf8' });
    // Once writing has begun: the check against the manifest comes first and writes nothing.
    const onData = (chunk: Buffer): void => { if (/^writing/m.test(chunk.toString())) { p.stderr!.off('data', onData); p.kill('SIGINT'); } };
    p.stderr!.on('data', onData);
    const r = await p;
    assert.is(r.exitCode, EXIT.interrupted, r.all);
    assert.match(r.all!, new RegExp(`interrupted: ${dev} is not bootable \\(its partition table is written last, and was not\\); run bankforge flash again`));
  });
});

test('an image with enough data that a worker thread shares the check and the read-back: written byte for byte; a changed device byte and a changed image block are named as one thread names them', async () => {
  // The ESXi layout with 70 MiB of random files in its store: more than HELPER_MIN of listed data.
  const storeDir = join(dir, 'big-store');
  await mkdir(storeDir);
  for (let i = 0; i < 5; i++) await writeFile(join(storeDir, `part-${i}.bin`), randomBytes(14 * MiB));
  const layout = JSON.parse(await readFile(join(repoRoot, 'layouts', 'esxi.json'), 'utf8'));
  layout.partitions.find((p: { name: string }) => p.name === 'store').contents = [{ dir: storeDir }];
  delete layout.$schema;
  const layoutFile = join(dir, 'big-esxi.json');
  await writeFile(layoutFile, JSON.stringify(layout));
  const big = await buildImage('big', layoutFile);
  const manifest = JSON.parse(await readFile(join(dir, 'big.manifest.json'), 'utf8'));
  const runs = manifest.blocks.runs as { first: number; count: number; sha256?: string[] }[];
  assert.ok(runs.reduce((n, r) => n + (r.sha256 ? r.count * manifest.blocks.size : 0), 0) >= HELPER_MIN, 'enough data for the worker');
  // As large as the image and zeros, so that the device is then the image byte for byte.
  const file = await stick('big', big.size, 0);
  await withLoop(file, 512, async (dev) => {
    await flash({ image: big.image, device: dev });
    assert.is(await sha256Of(dev), big.sha256, 'the device holds the image');

    // In the store's random data, near its end: where the worker is as likely as the main thread to look.
    const store = runs.reduce((a, r) => (r.sha256 && r.count > (a.sha256 ? a.count : 0) ? r : a));
    const victim = (store.first + Math.floor(store.count * 0.9)) * manifest.blocks.size + 7;
    const corrupt = (): Promise<void> => flipByte(file, victim, 0x5a);
    const err = await flash({ image: big.image, device: dev, afterWrite: corrupt }).then(() => undefined, (e: Error) => e);
    assert.instance(err, FlashFailure, String(err));
    assert.match(err!.message, new RegExp(`verify failed: ${dev} byte ${victim} \\(partition 4 \\(store\\) \\+ [0-9]+\\) reads 0x[0-9a-f]{2}, the image has 0x[0-9a-f]{2}`));

    // The same block changed in the image, and an earlier one too: the earlier one is named, and nothing is written.
    const tampered = join(dir, 'big-tampered.img');
    await copyFile(big.image, tampered);
    await writeFile(join(dir, 'big-tampered.manifest.json'), JSON.stringify({ ...manifest, image: { ...manifest.image, file: 'big-tampered.img' } }));
    const firstData = runs.find((r) => r.sha256 && r.first > 0)!;
    const fh = await open(tampered, 'r+');
    await fh.write(Buffer.from('Y'), 0, 1, victim);
    await fh.write(Buffer.from('Z'), 0, 1, firstData.first * manifest.blocks.size + 1);
    await fh.close();
    const before = await sha256Of(dev);
    const refused = await flash({ image: tampered, device: dev }).then(() => undefined, (e: Error) => e);
    assert.instance(refused, FlashFailure, String(refused));
    assert.match(refused!.message, `big-tampered.img does not match ${join(dir, 'big-tampered.manifest.json')}: block ${firstData.first} (bytes ${firstData.first * manifest.blocks.size}..`);
    assert.is(await sha256Of(dev), before, 'the stick changed');
  });
});

test('without the address space for its aligned buffers (ulimit -v), or without WebAssembly (--jitless), flash says so, exit 3, and writes nothing (was an internal error)', async () => {
  await withLoop(await stick('ulimit', small.size + 8 * MiB, 0xaa, 16 * MiB), 512, async (dev) => {
    const before = await sha256Of(dev);
    const { BIN } = await import('../../helpers/cli.js');
    const limited = await tool('sh', ['-c', 'ulimit -v 4000000; exec "$@"', 'sh', BIN, 'flash', small.image, dev, '--yes']);
    assert.is(limited.exitCode, EXIT.input, limited.all);
    assert.match(limited.stderr, 'could not make one (WebAssembly.Memory(): could not allocate memory): each reserves several GiB of address space, so a limit on it (ulimit -v) stops flash; nothing was written');
    const jitless = await cli(['flash', small.image, dev, '--yes'], { env: { NODE_OPTIONS: '--jitless' } });
    assert.is(jitless.exitCode, EXIT.input, jitless.stderr);
    assert.match(jitless.stderr, 'and WebAssembly is turned off here (NODE_OPTIONS=--jitless?); nothing was written');
    assert.is(await sha256Of(dev), before, 'the stick changed');
  });
});

test('devices --json: an attached loop device with its size and backing file, and the root disk marked as the system', async () => {
  await withLoop(await stick('listed', 40 * MiB, 0), 512, async (dev) => {
    const r = await cli(['devices', '--json']);
    assert.is(r.exitCode, 0, r.stderr);
    const list = JSON.parse(r.stdout) as { path: string; size: number; transport: string; backingFile?: string; system: boolean; flash: string }[];
    const loop = list.find((d) => d.path === dev);
    assert.ok(loop, `${dev} missing from ${r.stdout}`);
    assert.is(loop!.size, Number(await mustRun('blockdev', ['--getsize64', dev])));
    assert.is(loop!.transport, 'loop');
    assert.is(loop!.backingFile, join(dir, 'listed.stick'));
    assert.is(loop!.flash, 'ok');
    const root = (await mustRun('findmnt', ['-n', '-o', 'SOURCE', '/'])).trim();
    const rootDisk = `/dev/${(await mustRun('lsblk', ['-n', '-d', '-o', 'PKNAME', root])).trim() || root.replace('/dev/', '')}`;
    assert.equal(list.filter((d) => d.system).map((d) => [d.path, d.flash]), [[rootDisk, 'system disk']]);
  });
});

test.after(cleanup);
test.run();
