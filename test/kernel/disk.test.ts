// The disk drivers' memory-only parts on the host (test/c/disk-host.c under ASan and UBSan):
// the ATA command FIS, AHCI command headers and PRD tables, IDENTIFY DEVICE parsing (kernel/ata.c);
// NVMe doorbells, PRPs, completion-queue phase tags, Identify parsing (kernel/nvmeq.c); and the
// choice of the boot disk among copies of one image (kernel/diskpick.c). Expected values are
// worked out here from the specs' field layouts, not taken from the C.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileHost, HostProgram } from '../helpers/c-host.js';

const exe = await compileHost('disk-host', ['test/c/disk-host.c', 'kernel/ata.c', 'kernel/nvmeq.c', 'kernel/diskpick.c']);
const host = new HostProgram(exe);
test.after(async () => { await host.close(); });

/** IDENTIFY DEVICE data: 256 little-endian words, set by word number. */
function identify(words: Record<number, number>, model = 'QEMU HARDDISK'): string {
  const b = Buffer.alloc(512);
  for (const [w, v] of Object.entries(words)) b.writeUInt16LE(v, Number(w) * 2);
  // Words 27-46: 40 characters, space padded, the two bytes of each word swapped.
  const m = Buffer.from(model.padEnd(40, ' '), 'latin1');
  for (let i = 0; i < 40; i += 2) { b[54 + i] = m[i + 1]!; b[54 + i + 1] = m[i]!; }
  return b.toString('hex');
}

/** A 48-bit disk of `sectors` sectors: word 83 valid (bits 15:14 = 01) with 48-bit (bit 10) and FLUSH CACHE EXT (bit 13), word 86 bit 10. */
function disk48(sectors: bigint, extra: Record<number, number> = {}): Record<number, number> {
  return {
    83: 0x4000 | 1 << 10 | 1 << 13, 86: 1 << 10,
    100: Number(sectors & 0xffffn), 101: Number(sectors >> 16n & 0xffffn), 102: Number(sectors >> 32n & 0xffffn), 103: Number(sectors >> 48n & 0xffffn),
    ...extra,
  };
}

test('H2D FIS: type 27h, C bit, command, 48-bit LBA in bytes 4-6 and 8-10, LBA mode, count 65536 sent as 0', async () => {
  assert.is(await host.ask<string>('fis 0x25 0x123456789abc 65536'), '27802500bc9a7840563412000000000000000000');
  // Dword by dword: type/C/command/features, LBA 23:0 + device, LBA 47:24 + features, count + ICC + control, reserved.
  assert.is(await host.ask<string>('fis 0x35 7 8'), ['27803500', '07000040', '00000000', '08000000', '00000000'].join(''));
  assert.is(await host.ask<string>('fis 0xea 0 0'), ['2780ea00', '00000040', '00000000', '00000000', '00000000'].join(''));
});

test('command header DW0: CFL 5 dwords, W for writes, PRDTL in the high half', async () => {
  assert.is(await host.ask<number>('dw0 1 3'), 3 << 16 | 1 << 6 | 5);
  assert.is(await host.ask<number>('dw0 0 1'), 1 << 16 | 5);
});

test('PRD table: 4 MiB per entry, byte count minus one, odd addresses and too few entries refused', async () => {
  const MiB = 1 << 20;
  assert.equal(await host.ask('prdt 0x1000 9437184 8'), { n: 3, prd: [[0x1000, 0, 4 * MiB - 1], [0x1000 + 4 * MiB, 0, 4 * MiB - 1], [0x1000 + 8 * MiB, 0, MiB - 1]] });
  assert.equal(await host.ask('prdt 0x123456789000 512 1'), { n: 1, prd: [[0x56789000, 0x1234, 511]] });
  assert.equal(await host.ask('prdt 0x1001 512 8'), { n: -1, prd: [] });
  assert.equal(await host.ask('prdt 0x1000 9437184 2'), { n: -1, prd: [] });
});

test('IDENTIFY DEVICE: 512-byte and 4096-byte logical sectors, model; ATAPI, no 48-bit, bad sector sizes refused', async () => {
  assert.equal(await host.ask(`identify ${identify(disk48(151552n))}`), { sectors: 151552, sectorSize: 512, flushExt: 1, model: 'QEMU HARDDISK' });
  // Word 106 valid (01b in 15:14) with bit 12: words 117-118 give the logical sector in words.
  assert.equal(await host.ask(`identify ${identify(disk48(0x1_0000_0001n, { 106: 0x4000 | 1 << 12, 117: 2048 }), 'X')}`),
    { sectors: 0x1_0000_0001, sectorSize: 4096, flushExt: 1, model: 'X' });
  // Word 106 not valid (bits 15:14 = 11): its bit 12 means nothing.
  assert.is((await host.ask(`identify ${identify(disk48(8n, { 106: 0xd000, 117: 2048 }))}`)).sectorSize, 512);
  assert.equal(await host.ask(`identify ${identify(disk48(8n, { 0: 0x8000 }))}`), { error: 'not an ATA device (IDENTIFY word 0 bit 15 is set)' });
  assert.equal(await host.ask(`identify ${identify({ ...disk48(8n), 86: 0 })}`), { error: 'no 48-bit addressing (IDENTIFY words 83 and 86, bit 10)' });
  assert.match((await host.ask(`identify ${identify(disk48(8n, { 106: 0x5000, 117: 300 }))}`)).error as string, /logical sector size/);
  assert.match((await host.ask(`identify ${identify(disk48(0n))}`)).error as string, /no user-addressable sectors/);
});

test('NVMe doorbells: 1000h + (2 qid + cq) * (4 << DSTRD)', async () => {
  assert.is(await host.ask<number>('doorbell 0 0 0'), 0x1000);
  assert.is(await host.ask<number>('doorbell 0 1 1'), 0x100c);
  assert.is(await host.ask<number>('doorbell 2 1 0'), 0x1020);
});

test('PRPs: one page, two pages, a list for more; only PRP1 has an offset; misaligned or over one list page refused', async () => {
  const page = 4096;
  assert.equal(await host.ask('prps 0x10000 4096'), { ok: 0, prp1: 0x10000, prp2: 0, list: [] });
  assert.equal(await host.ask('prps 0x10200 3584'), { ok: 0, prp1: 0x10200, prp2: 0, list: [] });
  assert.equal(await host.ask('prps 0x10200 4096'), { ok: 0, prp1: 0x10200, prp2: 0x11000, list: [] });
  assert.equal(await host.ask('prps 0x10000 8192'), { ok: 0, prp1: 0x10000, prp2: 0x11000, list: [] });
  const list = (first: number, n: number) => Array.from({ length: n }, (_, i) => first + i * page);
  assert.equal(await host.ask('prps 0x10000 65536'), { ok: 0, prp1: 0x10000, prp2: 0x7000000, list: list(0x11000, 15) });
  assert.equal(await host.ask('prps 0x10200 65536'), { ok: 0, prp1: 0x10200, prp2: 0x7000000, list: list(0x11000, 16) });
  assert.is((await host.ask(`prps 0x10000 ${512 * page + page}`)).ok, 0);
  assert.is((await host.ask(`prps 0x10000 ${513 * page + page}`)).ok, -1);
  assert.is((await host.ask('prps 0x10002 512')).ok, -1);
});

test('completion queue: an entry is new only with the current phase tag, which flips at each wrap', async () => {
  assert.equal(await host.ask('cq 4 t'), { taken: [-1] });
  assert.equal(await host.ask('cq 4 ppptttt'), { taken: [1, 2, 3, -1] });
  // The controller wraps after 4 entries; the entries of its first pass (phase 1) must not be
  // taken again when the host wraps too, only the new ones (phase 0).
  assert.equal(await host.ask('cq 4 pppptttttpttpt'), { taken: [1, 2, 3, 4, -1, 5, -1, 6] });
  assert.equal(await host.ask(`cq 3 ${'pt'.repeat(10)}t`), { taken: [...Array.from({ length: 10 }, (_, i) => i + 1), -1] });
});

/** Identify Namespace data: NSZE, NLBAF (0-based), FLBAS, and the LBA formats as [MS, LBADS]. */
function ns(nsze: bigint, flbas: number, formats: [number, number][]): string {
  const b = Buffer.alloc(4096);
  b.writeBigUInt64LE(nsze, 0);
  b[25] = formats.length - 1;
  b[26] = flbas;
  formats.forEach(([ms, lbads], i) => { b.writeUInt16LE(ms, 128 + 4 * i); b[128 + 4 * i + 2] = lbads; });
  return b.toString('hex');
}

test('Identify Namespace: the format FLBAS names gives the block size; metadata, bad sizes, bad indexes, NSZE 0 refused', async () => {
  assert.equal(await host.ask(`ns ${ns(151552n, 0, [[0, 9], [0, 12]])}`), { blocks: 151552, blockSize: 512 });
  assert.equal(await host.ask(`ns ${ns(18944n, 1, [[0, 9], [0, 12]])}`), { blocks: 18944, blockSize: 4096 });
  assert.equal(await host.ask(`ns ${ns(8n, 2, [[0, 9], [0, 12]])}`), { error: 'FLBAS names an LBA format beyond NLBAF' });
  assert.equal(await host.ask(`ns ${ns(8n, 1, [[0, 9], [8, 12]])}`), { error: 'the LBA format in use carries metadata' });
  assert.equal(await host.ask(`ns ${ns(8n, 0, [[0, 13]])}`), { error: "the LBA format's data size is not 512..4096 bytes" });
  assert.equal(await host.ask(`ns ${ns(0n, 0, [[0, 9]])}`), { error: 'not an active namespace (NSZE 0)' });
});

test('Identify Controller: MDTS in units of the minimum page (0 = no limit), NN, VWC, model', async () => {
  const b = Buffer.alloc(4096);
  Buffer.from('QEMU NVMe Ctrl'.padEnd(40, ' ')).copy(b, 24);
  b[77] = 5;
  b.writeUInt32LE(256, 516);
  b[525] = 1;
  assert.equal(await host.ask(`ctrl ${b.toString('hex')} 4096`), { maxTransfer: 4096 << 5, namespaces: 256, vwc: 1, model: 'QEMU NVMe Ctrl' });
  b[77] = 0; b[525] = 0;
  assert.equal(await host.ask(`ctrl ${b.toString('hex')} 4096`), { maxTransfer: 0, namespaces: 256, vwc: 0, model: 'QEMU NVMe Ctrl' });
  b[77] = 30;
  assert.is((await host.ask(`ctrl ${b.toString('hex')} 4096`)).maxTransfer, 2 ** 31);
});

// bootinfo's transports (common/bootinfo.h) and PCI locations (bus << 8 | device << 3 | function).
const VIRTIO = 1, USB = 2, SATA = 3;
const at = (bus: number, dev: number, fn: number) => bus << 8 | dev << 3 | fn;

test('boot disk: the GUID match where the loader booted from; copies elsewhere never; copies behind one controller: none', async () => {
  const pick = (transport: number, pci: number, cands: [number, number, number][]) =>
    host.ask<number>(`pick ${transport} ${pci} ${cands.map((c) => c.join(':')).join('/')}`);
  // Two virtio disks made from one image: the one at the loader's PCI function, whatever the order.
  assert.is(await pick(VIRTIO, at(0, 4, 0), [[1, VIRTIO, at(0, 3, 0)], [1, VIRTIO, at(0, 4, 0)]]), 1);
  assert.is(await pick(VIRTIO, at(0, 3, 0), [[1, VIRTIO, at(0, 3, 0)], [1, VIRTIO, at(0, 4, 0)]]), 0);
  // A disk without the GUID at the right place is not the boot disk.
  assert.is(await pick(VIRTIO, at(0, 3, 0), [[0, VIRTIO, at(0, 3, 0)]]), -1);
  // Booted from a USB stick we have no driver for; a copy on SATA is never written instead.
  assert.is(await pick(USB, at(0, 5, 0), [[1, SATA, at(0, 0x1f, 2)]]), -1);
  // Two copies on two ports of one AHCI controller: bootinfo cannot tell them apart.
  assert.is(await pick(SATA, at(0, 0x1f, 2), [[1, SATA, at(0, 0x1f, 2)], [1, SATA, at(0, 0x1f, 2)]]), -2);
  // ... while a different disk on the other port is no obstacle.
  assert.is(await pick(SATA, at(0, 0x1f, 2), [[0, SATA, at(0, 0x1f, 2)], [1, SATA, at(0, 0x1f, 2)]]), 1);
  // A loader that could not tell transport or controller: the GUID alone, and two copies are ambiguous.
  assert.is(await pick(0, 0xffffffff, [[1, SATA, at(0, 0x1f, 2)]]), 0);
  assert.is(await pick(0, 0xffffffff, [[1, SATA, at(0, 0x1f, 2)], [1, VIRTIO, at(0, 3, 0)]]), -2);
});

test.run();
