// The loader's plain-C parsers on the host (test/c/loader-host.c): GPT against our TypeScript
// GPT writer, boot.cfg and SHA256SUMS per docs/boot-protocol.md, kernel ELF checks per "The
// kernel image", and fuzz loops of mutated inputs that must end without a crash (ASan/UBSan).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile, truncate, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeGpt, type GptDisk } from '../../partitions/gpt.js';
import { GPT_TYPE_ALIASES } from '../../partitions/gpt-types.js';
import { guidToBytes } from '../../partitions/guid.js';
import { deriveGuid } from '../../partitions/seeded-ids.js';
import { scratch, mustRun, tool } from '../helpers/tools.js';
import { buildHost, buildTestKernel, host, closeHosts } from './build.js';
import { encodeRecord } from '../../partitions/config-record.js';

const KiB = 1024;
const { dir, cleanup } = await scratch('bankforge-loader-');
const { bin, sanitized } = await buildHost();
const kernel = await buildTestKernel();
let n = 0;
const file = async (data: string | Buffer): Promise<string> => {
  const p = join(dir, `in-${n++}`);
  await writeFile(p, data);
  return p;
};
const hex = (g: string) => guidToBytes(g).toString('hex');

function disk(sectorSize: 512 | 4096, sectors: number): GptDisk {
  const mk = (index: number, type: string, first: number, last: number) =>
    ({ index, typeGuid: type, guid: deriveGuid('loader', `p${index}`), firstLba: first, lastLba: last, attributes: 0n, name: `p${index}` });
  const u = sectorSize === 512 ? 34 : 6;
  return {
    sectorSize, sectorCount: sectors, diskGuid: deriveGuid('loader', 'disk'),
    partitions: [mk(0, GPT_TYPE_ALIASES.esp!, u, u + 9), mk(2, GPT_TYPE_ALIASES['basic-data']!, u + 10, u + 40),
      mk(5, GPT_TYPE_ALIASES.vmkdiagnostic!, u + 41, u + 60)],
  };
}

async function image(d: GptDisk): Promise<string> {
  const p = join(dir, `disk-${n++}.img`);
  await writeFile(p, '');
  await truncate(p, d.sectorCount * d.sectorSize);
  const fh = await open(p, 'r+');
  for (const e of writeGpt(d)) await fh.write(e.data, 0, e.data.length, e.offset);
  await fh.close();
  return p;
}

async function patch(path: string, offset: number, bytes: Buffer): Promise<void> {
  const fh = await open(path, 'r+');
  await fh.write(bytes, 0, bytes.length, offset);
  await fh.close();
}

test('host build runs under ASan/UBSan', () => {
  assert.ok(sanitized, 'cc -fsanitize=address,undefined failed: the fuzz loops run without sanitizers');
});

for (const ss of [512, 4096] as const) {
  test(`GPT: our writer's table reads back identically (${ss}-byte sectors)`, async () => {
    const d = disk(ss, ss === 512 ? 400 : 100);
    const g = await host(bin, ['gpt', await image(d), String(ss)]);
    assert.is(g.error, undefined);
    assert.is(g.diskGuid, hex(d.diskGuid));
    assert.is(g.usedBackup, false);
    assert.equal(g.partitions, d.partitions.map((p) => ({ index: p.index, type: hex(p.typeGuid), guid: hex(p.guid), firstLba: p.firstLba, lastLba: p.lastLba })));
  });
}

test('GPT: a damaged primary header or entry array falls back to the backup', async () => {
  const d = disk(512, 400);
  const hdr = await image(d);
  await patch(hdr, 512 + 60, Buffer.from([0xaa]));   // inside the disk GUID: header CRC breaks
  const g1 = await host(bin, ['gpt', hdr, '512']);
  assert.is(g1.usedBackup, true);
  assert.match(g1.primaryError, /header CRC mismatch/);
  assert.is(g1.partitions.length, 3);
  const ent = await image(d);
  await patch(ent, 2 * 512 + 40, Buffer.from([0x55]));   // inside entry 0
  const g2 = await host(bin, ['gpt', ent, '512']);
  assert.is(g2.usedBackup, true);
  assert.match(g2.primaryError, /entry array CRC mismatch/);
  assert.equal(g2.partitions, g1.partitions);
});

test('GPT: both copies damaged, or no GPT at all, is an error naming both', async () => {
  const d = disk(512, 400);
  const p = await image(d);
  await patch(p, 512, Buffer.from('XFI PART'));
  await patch(p, 399 * 512, Buffer.from('XFI PART'));
  const g = await host(bin, ['gpt', p, '512']);
  assert.match(g.error, /^GPT: primary: no GPT signature at LBA 1; backup: no GPT signature at LBA 399$/);
  const blank = await file(Buffer.alloc(64 * KiB));
  assert.match((await host(bin, ['gpt', blank, '512'])).error, /primary: .*backup: /);
});

test('GPT: fuzzed primary copies (CRCs recomputed half the time) never crash the parser', async () => {
  const r = await host(bin, ['fuzz', 'gpt', await image(disk(512, 400)), '2000', '0x5eed', '512']);
  assert.is(r.iterations, 2000);
  const r4k = await host(bin, ['fuzz', 'gpt', await image(disk(4096, 100)), '1000', '0x4096', '4096']);
  assert.is(r4k.iterations, 1000);
});

const CFG = [
  'bootstate=0', '# a comment', 'title=bankforge 1.2.0', 'timeout=5', 'kernel=kernel.elf',
  'kernelopt=console=com1 panic.delay=3', 'modules=base.tgz --- etc.tgz ---  state.tgz', 'build=1.2.0', 'updated=4',
  'nosuchkey=ignored', '',
].join('\n');

test('boot.cfg: the keys of docs/boot-protocol.md', async () => {
  const c = await host(bin, ['bootcfg', await file(CFG)]);
  assert.equal(c, { title: 'bankforge 1.2.0', build: '1.2.0', kernel: 'kernel.elf', kernelopt: 'console=com1 panic.delay=3', initrd: '',
    timeout: 5, watchdog: 0, modules: ['base.tgz', 'etc.tgz', 'state.tgz'] });
});

test('boot.cfg: CRLF, spaces around =, a key given twice keeps the last, empty modules', async () => {
  const c = await host(bin, ['bootcfg', await file('kernel = a.elf\r\ntimeout=0\r\nkernel=b.elf\r\nmodules=\r\n')]);
  assert.is(c.kernel, 'b.elf');
  assert.is(c.timeout, 0);
  assert.equal(c.modules, []);
  const builder = await host(bin, ['bootcfg', await file('bootstate=0\ntitle=bankforge 1.0.0\ntimeout=3\nkernel=kernel.elf\nkernelopt=\nmodules=\nbuild=1.0.0\nupdated=1\n')]);
  assert.equal(builder, { title: 'bankforge 1.0.0', build: '1.0.0', kernel: 'kernel.elf', kernelopt: '', initrd: '', timeout: 3, watchdog: 0, modules: [] });
});

test('i6300esb: half the watchdog time in each stage, at 33 MHz / 2^15, rounded up and within 20 bits', async () => {
  const preload = async (s: number) => (await host(bin, ['esb-preload', String(s)])).preload as number;
  // Both stages together last at least the seconds asked, and less than one tick more.
  for (const s of [1, 8, 15, 60, 600]) {
    const p = await preload(s);
    const seconds = (2 * p * 32768) / 33e6;
    assert.ok(seconds >= s && seconds < s + (2 * 32768) / 33e6, `${s} s -> preload ${p} = ${seconds} s`);
  }
  assert.is(await preload(60), 30213);
  assert.is(await preload(0), 1, 'never 0: the timer would not count');
  assert.is(await preload(5000), 0xfffff, 'capped at the 20-bit register');
});

const long = (k: number) => 'x'.repeat(k);
for (const [name, text, msg] of [
  ['no =', 'kernel=k\ngarbage\n', /^boot\.cfg line 2: no '='$/],
  ['no kernel', 'title=t\n', /^boot\.cfg: no kernel=$/],
  ['timeout not a number', 'kernel=k\ntimeout=5s\n', /line 2: bad value for timeout/],
  ['timeout too large', 'kernel=k\ntimeout=99999\n', /line 2: bad value for timeout/],
  ['kernel in a directory', 'kernel=boot/k\n', /line 1: bad value for kernel/],
  ['kernel name of 48 bytes', `kernel=${long(48)}\n`, /line 1: bad value for kernel/],
  ['module with a space', 'kernel=k\nmodules=a b\n', /line 2: bad module name/],
  ['dangling separator', 'kernel=k\nmodules=a --- \n', /line 2: (empty|bad) module name/],
  ['17 modules', `kernel=k\nmodules=${Array.from({ length: 17 }, (_, i) => `m${i}`).join(' --- ')}\n`, /more than 16 modules/],
  ['build of 32 bytes', `kernel=k\nbuild=${long(32)}\n`, /bad value for build/],
  ['NUL byte', 'kernel=k\0\n', /line 1: NUL byte/],
] as const) {
  test(`boot.cfg refused: ${name}`, async () => {
    assert.match((await host(bin, ['bootcfg', await file(text)])).error, msg);
  });
}

test('boot.cfg: a 47-byte name is accepted', async () => {
  assert.is((await host(bin, ['bootcfg', await file(`kernel=${long(47)}\n`)])).kernel, long(47));
});

test('SHA256SUMS: sha256sum output in text and binary mode', async () => {
  await writeFile(join(dir, 'a.bin'), 'alpha');
  await writeFile(join(dir, 'b.bin'), 'beta');
  const text = await mustRun('sh', ['-c', `cd "${dir}" && sha256sum a.bin && sha256sum -b b.bin`]);
  const s = await host(bin, ['sums', await file(text)]);
  const want = await mustRun('sh', ['-c', `cd "${dir}" && sha256sum a.bin b.bin | cut -c1-64`]);
  assert.equal(Object.values(s.files), want.trim().split('\n'));
  assert.equal(Object.keys(s.files), ['a.bin', 'b.bin']);
});

for (const [name, text, msg] of [
  ['one space', `${'a'.repeat(64)} x\n`, /line 1: not '<sha256>  <name>'/],
  ['bad hex', `${'g'.repeat(64)}  x\n`, /line 1: bad hex/],
  ['short hash', `${'a'.repeat(63)}  x\n`, /line 1: not/],
  ['path', `${'a'.repeat(64)}  dir/x\n`, /line 1: bad file name/],
] as const) {
  test(`SHA256SUMS refused: ${name}`, async () => {
    assert.match((await host(bin, ['sums', await file(text)])).error, msg);
  });
}

test('ELF: the test kernel is accepted at BF_KERNEL_BASE', async () => {
  const e = await host(bin, ['elf', kernel]);
  assert.is(e.entry, 0x1000000);
  assert.is(e.lo, 0x1000000);
  assert.ok(e.segments.length >= 1 && e.hi > e.lo && e.hi % 4096 === 0);
});

// Field offsets in the ELF64 header and program header (ELF-64 Object File Format).
async function elfWith(edit: (b: Buffer, ph: (i: number) => number) => void): Promise<string> {
  const b = Buffer.from(await readFile(kernel));
  const phoff = Number(b.readBigUInt64LE(32));
  edit(b, (i) => phoff + 56 * i);
  return file(b);
}
for (const [name, edit, msg] of [
  ['not ELF', (b: Buffer) => b.write('XELF', 0), /not an ELF file/],
  ['32-bit', (b: Buffer) => { b[4] = 1; }, /not a little-endian ELF64/],
  ['ET_DYN', (b: Buffer) => b.writeUInt16LE(3, 16), /not an x86-64 executable \(type 3/],
  ['aarch64', (b: Buffer) => b.writeUInt16LE(183, 18), /machine 183/],
  ['program headers past the end', (b: Buffer) => b.writeBigUInt64LE(1n << 40n, 32), /program headers outside the file/],
  ['p_paddr != p_vaddr', (b: Buffer, ph: (i: number) => number) => b.writeBigUInt64LE(0x2000000n, ph(0) + 24), /p_paddr 2000000 != p_vaddr/],
  ['below the kernel base', (b: Buffer, ph: (i: number) => number) => { b.writeBigUInt64LE(0x100000n, ph(0) + 16); b.writeBigUInt64LE(0x100000n, ph(0) + 24); }, /outside 1000000/],
  ['filesz > memsz', (b: Buffer, ph: (i: number) => number) => b.writeBigUInt64LE(1n, ph(0) + 40), /bytes outside the file/],
  ['offset past the end', (b: Buffer, ph: (i: number) => number) => b.writeBigUInt64LE(1n << 32n, ph(0) + 8), /bytes outside the file/],
  ['huge memsz', (b: Buffer, ph: (i: number) => number) => b.writeBigUInt64LE(~0n & ((1n << 64n) - 1n), ph(0) + 40), /outside 1000000/],
  ['entry outside', (b: Buffer) => b.writeBigUInt64LE(0x5000000n, 24), /entry point 5000000 not in an executable segment/],
] as const) {
  test(`ELF refused: ${name}`, async () => {
    assert.match((await host(bin, ['elf', await elfWith(edit)])).error, msg);
  });
}

test('ELF: overlapping segments are refused', async () => {
  const p = await elfWith((b, ph) => {
    // Two PT_LOADs: make the second start inside the first.
    const first = b.readBigUInt64LE(ph(0) + 16);
    b.writeBigUInt64LE(first, ph(1) + 16);
    b.writeBigUInt64LE(first, ph(1) + 24);
  });
  assert.match((await host(bin, ['elf', p])).error, /overlaps another/);
});

const RECORD = encodeRecord({ seq: 7, settings: { hostname: 'esx01', 'net.mode': 'static', 'net.address': '10.0.0.5', 'net.netmask': '255.255.255.0' } });
for (const [kind, seed] of [['bootcfg', CFG], ['elf', ''], ['sums', `${'ab'.repeat(32)}  kernel.elf\n${'01'.repeat(32)} *m.tgz\n`], ['record', RECORD]] as const) {
  test(`fuzz: ${kind} never crashes on mutated input`, async () => {
    const input = kind === 'elf' ? kernel : await file(seed);
    const r = await host(bin, ['fuzz', kind, input, '20000', '0xb00f']);
    assert.is(r.iterations, 20000);
  });
}

test('fuzz: random bytes as boot.cfg, SHA256SUMS, ELF and a configuration record', async () => {
  const rnd = Buffer.alloc(4 * KiB);
  for (let i = 0; i < rnd.length; i++) rnd[i] = (i * 2654435761) >>> 24;
  const p = await file(rnd);
  for (const kind of ['bootcfg', 'sums', 'elf', 'record']) {
    const r = await tool(bin, ['fuzz', kind, p, '2000', '7']);
    assert.is(r.exitCode, 0, r.all);
  }
});

test.after(async () => { await closeHosts(); await cleanup(); });
test.run();
