// `bankforge build` end to end: every layout at both sector sizes judged by sgdisk and fsck.fat,
// content read back by mtools, reproducibility, sparseness and the manifest's hashes.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build, DEFAULT_BOOT_TIMEOUT } from '../../builder/build.js';
import type { Manifest } from '../../builder/manifest.js';
import { BLOCK_SIZE, blockDigests } from '../../builder/image/blocks.js';
import { LAYOUTS_DIR } from '../../builder/layout/load.js';
import { scratch, tool } from '../helpers/tools.js';
import { bootCfg } from '../../builder/pipeline/bank.js';
import { sgdiskVerify, fsckPartition } from '../helpers/oracles.js';
import { cli } from '../helpers/cli.js';

const MiB = 1024 * 1024;
const quiet = { step() {}, done() {} };

async function sha256File(path: string, offset = 0, length?: number): Promise<string> {
  const buf = await readFile(path);
  return createHash('sha256').update(buf.subarray(offset, length === undefined ? undefined : offset + length)).digest('hex');
}

const layouts = (await readdir(LAYOUTS_DIR)).filter((f) => f.endsWith('.json') && f !== 'schema.json').map((f) => f.replace(/\.json$/, ''));

for (const name of layouts) {
  for (const ss of [512, 4096] as const) {
    test(`${name} layout, ${ss}-byte sectors: sgdisk -v clean, table as specified, every FAT passes fsck.fat -n`, async () => {
      const { dir, cleanup } = await scratch();
      try {
        const out = join(dir, `${name}.img`);
        const { manifest } = await build({ layout: name, out, version: '1.0.0', sectorSize: ss, progress: quiet });
        const listing = await sgdiskVerify(out, ss);
        for (const p of manifest.partitions) {
          const code = { esp: 'EF00', 'basic-data': '0700', vmkdiagnostic: 'FC00' }[p.type] ?? '';
          const row = new RegExp(`^\\s+${p.number}\\s+${p.firstLba}\\s+${p.lastLba}\\s+${(p.size / MiB).toFixed(1)} MiB\\s+${code}\\s+${p.gptName}$`, 'm');
          assert.match(listing, row, `sgdisk -p row for ${p.name}:\n${listing}`);
          if (p.filesystem !== 'raw') await fsckPartition(out, ss, p.offset, p.size);
        }
        assert.match(listing, new RegExp(`Disk identifier \\(GUID\\): ${manifest.diskGuid}`));
        const r = await cli(['inspect', out]);
        assert.is(r.exitCode, 0, r.stderr);
        assert.is(r.stderr, '');
      } finally {
        await cleanup();
      }
    });
  }
}

/** A layout like small.json with real content: long and unicode names, nested dirs, a big file. */
async function contentLayout(dir: string): Promise<{ layout: string; files: Map<string, Buffer> }> {
  const files = new Map<string, Buffer>([
    ['EFI/BOOT/BOOTX64.EFI', Buffer.alloc(70000, 7)],
    ['tools/VMware Tools image – Ünïcode.iso', createHash('sha512').update('x').digest()],
    ['tools/big.bin', Buffer.from(Array.from({ length: 3 * MiB }, (_, i) => (i * 31 + (i >> 12)) & 0xff))],
    ['config/host/state.tgz', Buffer.from('state\n')],
    ['empty', Buffer.alloc(0)],
    ['README.TXT', Buffer.from('hello\n')],
  ]);
  for (const [path, data] of files) {
    const host = join(dir, 'content', path);
    await mkdir(join(host, '..'), { recursive: true });
    await writeFile(host, data);
  }
  const small = JSON.parse(await readFile(join(LAYOUTS_DIR, 'small.json'), 'utf8'));
  small.partitions[0].contents = [{ dir: 'content/EFI', to: 'EFI' }];
  small.partitions[3].contents = [{ dir: 'content', to: '' }];
  delete small.$schema;
  const layout = join(dir, 'content.json');
  await writeFile(layout, JSON.stringify(small));
  return { layout, files };
}

test('mtools reads back every file byte-identical, long and unicode names included', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const { layout, files } = await contentLayout(dir);
    const out = join(dir, 'c.img');
    const { manifest } = await build({ layout, out, version: '1', progress: quiet });
    const store = manifest.partitions.find((p) => p.name === 'store')!;
    const esp = manifest.partitions.find((p) => p.name === 'bootloader')!;
    await fsckPartition(out, 512, store.offset, store.size);
    await fsckPartition(out, 512, esp.offset, esp.size);
    for (const [path, data] of files) {
      const dest = join(dir, 'readback');
      const r = await tool('sh', ['-c', `mcopy -n -o -i "$0@@$1" "::$2" "$3"`, out, String(store.offset), path, dest]);
      assert.is(r.exitCode, 0, `mcopy ${path}: ${r.all}`);
      assert.ok((await readFile(dest)).equals(data), `content of ${path}`);
    }
    const efi = await tool('sh', ['-c', `mcopy -n -o -i "$0@@$1" ::EFI/BOOT/BOOTX64.EFI "$2"`, out, String(esp.offset), join(dir, 'efi')]);
    assert.is(efi.exitCode, 0, efi.all);
    assert.ok((await readFile(join(dir, 'efi'))).equals(files.get('EFI/BOOT/BOOTX64.EFI')!));
    const listing = await tool('mdir', ['-/', '-i', `${out}@@${store.offset}`, '::tools'], );
    assert.match(listing.stdout, /VMware Tools image – Ünïcode\.iso/, listing.all);
  } finally {
    await cleanup();
  }
});

/** The digests of the blocks inside [offset, offset + size), holes as undefined. */
function blocksOf(m: Manifest, offset: number, size: number): (string | undefined)[] {
  const at = blockDigests(m.blocks);
  const out: (string | undefined)[] = [];
  for (let i = Math.floor(offset / m.blocks.size); i < Math.ceil((offset + size) / m.blocks.size); i++) out.push(at(i));
  return out;
}

test('same inputs give the same bytes; another version gives other bytes', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const { layout } = await contentLayout(dir);
    const a = await build({ layout, out: join(dir, 'a.img'), version: '2.0.0', progress: quiet, sha256: true });
    const b = await build({ layout, out: join(dir, 'b.img'), version: '2.0.0', progress: quiet, sha256: true });
    const c = await build({ layout, out: join(dir, 'c.img'), version: '2.0.1', progress: quiet, sha256: true });
    const [ha, hb, hc] = await Promise.all(['a', 'b', 'c'].map((n) => sha256File(join(dir, `${n}.img`))));
    assert.is(ha, hb);
    assert.is.not(ha, hc);
    assert.is(a.manifest.image.sha256, ha);
    assert.is(c.manifest.image.sha256, hc);
    assert.equal({ ...a.manifest, image: { ...a.manifest.image, file: '' } }, { ...b.manifest, image: { ...b.manifest.image, file: '' } });
    // The version lands in the banks (boot.cfg and state record), and only there.
    const differing = a.manifest.partitions.filter((p) => JSON.stringify(blocksOf(a.manifest, p.offset, p.size)) !== JSON.stringify(blocksOf(c.manifest, p.offset, p.size))).map((p) => p.name);
    assert.equal(differing, ['bootbank', 'altbootbank']);
  } finally {
    await cleanup();
  }
});

test('the manifest lists the sha256 of every data block and declares the rest holes, which read as zeros; --sha256 adds the whole image\'s', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const { layout } = await contentLayout(dir);
    const out = join(dir, 'm.img');
    const r = await cli(['build', '--quiet', '--layout', layout, '--out', out, '--version', '3']);
    assert.is(r.exitCode, 0, r.stderr);
    const m = JSON.parse(await readFile(join(dir, 'm.manifest.json'), 'utf8'));
    assert.is(m.format, 2);
    assert.is(m.image.sha256, undefined, 'the whole-image sha256 costs the disk size: only on request');
    assert.is(m.blocks.size, BLOCK_SIZE);
    assert.is(m.blocks.zeroSha256, createHash('sha256').update(Buffer.alloc(BLOCK_SIZE)).digest('hex'));
    const bytes = await readFile(out);
    let next = 0, holes = 0, data = 0;
    for (const run of m.blocks.runs) {
      assert.is(run.first, next, 'runs cover the image in order');
      for (let i = 0; i < run.count; i++) {
        const block = bytes.subarray((run.first + i) * m.blocks.size, (run.first + i + 1) * m.blocks.size);
        if (run.sha256) { data++; assert.is(run.sha256[i], createHash('sha256').update(block).digest('hex'), `block ${run.first + i}`); }
        else { holes++; assert.ok(block.equals(Buffer.alloc(block.length)), `hole block ${run.first + i} reads as zeros`); }
      }
      next += run.count;
    }
    assert.is(next * m.blocks.size, m.image.size);
    assert.ok(data > 0 && holes > data, `${data} data blocks, ${holes} holes`);
    for (const p of m.partitions) assert.not.ok('sha256' in p, 'partitions are checked through the blocks');
    const bankFiles = m.partitions.find((p: { name: string }) => p.name === 'bootbank').files;
    assert.equal(bankFiles.map((f: { path: string }) => f.path), ['boot.cfg', 'SHA256SUMS', 'kernel.elf', 'base.tar']);
    assert.is(bankFiles[0].size, Buffer.byteLength(bootCfg({ version: '3', updated: 1, timeout: DEFAULT_BOOT_TIMEOUT, kernelopt: '' })));
    const w = await cli(['build', '--quiet', '--layout', layout, '--out', join(dir, 'w.img'), '--version', '3', '--sha256']);
    assert.is(w.exitCode, 0, w.stderr);
    const mw = JSON.parse(await readFile(join(dir, 'w.manifest.json'), 'utf8'));
    assert.is(mw.image.sha256, (await tool('sha256sum', [join(dir, 'w.img')])).stdout.split(' ')[0]);
    assert.equal(mw.blocks, m.blocks);
  } finally {
    await cleanup();
  }
});

test('the image is sparse: the default layout writes a small part of its 752 MiB', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const out = join(dir, 'esxi.img');
    await build({ out, version: '1', progress: quiet });
    const st = await stat(out);
    assert.is(st.size, 752 * MiB);
    assert.ok(st.blocks * 512 < 4 * MiB, `allocated ${st.blocks * 512} bytes`);
  } finally {
    await cleanup();
  }
});

test('CLI build: --json prints the manifest, --quiet prints nothing else, default out is <layout>.img', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const r = await cli(['build', '--layout', 'small', '--json', '--version', '9'], { cwd: dir });
    assert.is(r.exitCode, 0, r.stderr);
    assert.is(r.stderr, '');
    const m = JSON.parse(r.stdout);
    assert.is(m.version, '9');
    assert.equal((await readdir(dir)).sort(), ['small.img', 'small.img.kernel.elf', 'small.manifest.json']);
    // The kernel kept beside the image is the one in the bank, byte for byte (mtools reads the bank).
    const bank = (m as Manifest).partitions.find((p) => p.name === 'bootbank')!;
    const fromBank = await tool('sh', ['-c', `mcopy -n -o -i "$0@@$1" ::kernel.elf "$2"`, join(dir, 'small.img'), String(bank.offset), join(dir, 'bank-kernel.elf')]);
    assert.is(fromBank.exitCode, 0, fromBank.all);
    assert.ok((await readFile(join(dir, 'small.img.kernel.elf'))).equals(await readFile(join(dir, 'bank-kernel.elf'))), 'kept kernel differs from the bank\'s');
    const q = await cli(['build', '--layout', 'small', '--quiet', '--out', join(dir, 'q.img')]);
    assert.is(q.exitCode, 0, q.stderr);
    assert.is(q.stdout + q.stderr, '');
    const help = await cli(['build', '--help']);
    assert.match(help.stdout, /Examples:/);
    // Whole seconds as typed: '' used to become 0 (no boot menu) without a word.
    for (const bad of ['', '3x', '3601', '1.5']) {
      const b = await cli(['build', '--layout', 'small', '--boot-timeout', bad, '--out', join(dir, 'bt.img')]);
      assert.is(b.exitCode, 3, `--boot-timeout ${JSON.stringify(bad)}: ${b.stderr}`);
      assert.match(b.stderr, `--boot-timeout: expected whole seconds from 0 to 3600, got ${JSON.stringify(bad)}`);
    }
    for (const bad of ['', '60s', '601', '-1']) {
      const b = await cli(['build', '--layout', 'small', '--watchdog', bad, '--out', join(dir, 'bt.img')]);
      assert.is(b.exitCode, 3, `--watchdog ${JSON.stringify(bad)}: ${b.stderr}`);
      assert.match(b.stderr, `--watchdog: expected whole seconds from 0 to 600, got ${JSON.stringify(bad)}`);
    }
    assert.not.ok((await readdir(dir)).includes('bt.img'));
  } finally {
    await cleanup();
  }
});

test.run();
