// The kernel's USB stack, the parts without registers (kernel/usb_proto.c, kernel/scsi.c), built for
// the host under ASan and UBSan (test/c/usb-host.c): Bulk-Only wrappers and SCSI commands byte for
// byte as the specs lay them out (written out here independently), sense data and capacities,
// descriptors of a USB 2 and a USB 3 stick, TRB splitting at 64 KiB boundaries, the cycle bits of
// producer and consumer rings across many wraps, and hostile input: lengths that lie, truncation
// at every byte, and random bytes through every parser.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileHost, HostProgram } from '../helpers/c-host.js';

const host = new HostProgram(await compileHost('usb-host', ['test/c/usb-host.c', 'kernel/usb_proto.c', 'kernel/scsi.c']));

test.after(async () => {
  assert.is(await host.close(), '', 'the host program wrote to stderr (a sanitizer report?)');
});

const hex = (b: Buffer) => (b.length ? b.toString('hex') : '-');
const le32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };

// BOT 5.1: dCBWSignature, dCBWTag, dCBWDataTransferLength (LE), bmCBWFlags, bCBWLUN, bCBWCBLength, CBWCB[16].
function cbw(tag: number, len: number, dirIn: boolean, lun: number, cdb: Buffer): string {
  const b = Buffer.alloc(31);
  b.writeUInt32LE(0x43425355, 0);
  b.writeUInt32LE(tag, 4);
  b.writeUInt32LE(len, 8);
  b[12] = dirIn ? 0x80 : 0;
  b[13] = lun;
  b[14] = cdb.length;
  cdb.copy(b, 15);
  return b.toString('hex');
}

// BOT 5.2: dCSWSignature, dCSWTag, dCSWDataResidue, bCSWStatus.
function csw(tag: number, residue: number, status: number, signature = 0x53425355): Buffer {
  return Buffer.concat([le32(signature), le32(tag), le32(residue), Buffer.from([status])]);
}

test('CBW: the 31 bytes BOT 5.1 lays out, for IN, OUT and no-data commands; bad CDB lengths and LUNs refused', async () => {
  const read10 = Buffer.from('28000000100000000800', 'hex');
  assert.equal(await host.ask(`cbw 3735928559 4096 1 0 ${hex(read10)}`), { cbw: cbw(0xdeadbeef, 4096, true, 0, read10) });
  const write10 = Buffer.from('2a000000001000000100', 'hex');
  assert.equal(await host.ask(`cbw 1 512 0 2 ${hex(write10)}`), { cbw: cbw(1, 512, false, 2, write10) });
  const tur = Buffer.alloc(6);
  assert.equal(await host.ask(`cbw 2 0 0 0 ${hex(tur)}`), { cbw: cbw(2, 0, false, 0, tur) });
  const cap16 = Buffer.from('9e100000000000000000000000200000', 'hex');
  assert.equal(await host.ask(`cbw 4 32 1 15 ${hex(cap16)}`), { cbw: cbw(4, 32, true, 15, cap16) });
  assert.equal(await host.ask('cbw 5 0 0 0 -'), { error: 1 }, 'empty CDB');
  assert.equal(await host.ask(`cbw 5 0 0 0 ${'00'.repeat(17)}`), { error: 1 }, '17-byte CDB');
  assert.equal(await host.ask(`cbw 5 0 0 16 ${hex(tur)}`), { error: 1 }, 'LUN 16');
});

test('CSW: passed/failed/phase error read; wrong length, signature, tag, status or a residue over the request call for recovery', async () => {
  const ask = (b: Buffer, tag: number, len: number) => host.ask<{ status: number; residue: number }>(`csw ${hex(b)} ${tag} ${len}`);
  assert.equal(await ask(csw(9, 0, 0), 9, 512), { status: 0, residue: 0 });
  assert.equal(await ask(csw(9, 512, 1), 9, 512), { status: 1, residue: 512 });
  assert.equal(await ask(csw(9, 100, 0), 9, 512), { status: 0, residue: 100 });
  assert.is((await ask(csw(9, 0xffffffff, 2), 9, 512)).status, 2, 'phase error whatever the residue');
  const INVALID = 3;
  assert.is((await ask(csw(8, 0, 0), 9, 512)).status, INVALID, 'tag of another command');
  assert.is((await ask(csw(9, 0, 0, 0x43425355), 9, 512)).status, INVALID, 'a CBW signature');
  assert.is((await ask(csw(9, 0, 3), 9, 512)).status, INVALID, 'status 3');
  assert.is((await ask(csw(9, 513, 0), 9, 512)).status, INVALID, 'residue over the request');
  assert.is((await ask(Buffer.concat([csw(9, 0, 0), Buffer.from([0])]), 9, 512)).status, INVALID, '14 bytes');
  for (let n = 0; n < 13; n++) assert.is((await ask(csw(9, 0, 0).subarray(0, n), 9, 512)).status, INVALID, `${n} bytes`);
});

test('SCSI CDBs: READ(10)/WRITE(10)/SYNCHRONIZE CACHE(10), READ CAPACITY(10)/(16), 6-byte commands, big-endian as SBC-3 says', async () => {
  assert.equal(await host.ask('cdb rw10 40 305419896 65535'), { cdb: '28001234567800ffff00' });
  assert.equal(await host.ask('cdb rw10 42 4294967295 128'), { cdb: '2a00ffffffff00008000' });
  assert.equal(await host.ask('cdb rw10 53 0 0'), { cdb: '35000000000000000000' });
  assert.equal(await host.ask('cdb cap10'), { cdb: '25000000000000000000' });
  assert.equal(await host.ask('cdb cap16 32'), { cdb: '9e100000000000000000000000200000' });
  assert.equal(await host.ask('cdb simple 18 36'), { cdb: '120000002400' }, 'INQUIRY, allocation length 36');
  assert.equal(await host.ask('cdb simple 3 18'), { cdb: '030000001200' }, 'REQUEST SENSE');
  assert.equal(await host.ask('cdb simple 0 99'), { cdb: '000000000000' }, 'TEST UNIT READY has no allocation length');
});

test('sense data: fixed and descriptor formats; what the driver does about each key; lengths that lie are not believed', async () => {
  type Sense = { key: number; asc: number; ascq: number; action: number; name: string } | { error: 1 };
  const ask = (b: Buffer) => host.ask<Sense>(`sense ${hex(b)}`);
  const fixed = (key: number, asc: number, ascq: number, addl = 10) => {
    const b = Buffer.alloc(18);
    b[0] = 0x70; b[2] = key; b[7] = addl; b[12] = asc; b[13] = ascq;
    return b;
  };
  const RETRY = 0, FAIL = 1, OK = 2;
  assert.equal(await ask(fixed(6, 0x29, 0)), { key: 6, asc: 0x29, ascq: 0, action: RETRY, name: 'unit attention' }, 'power on or reset');
  assert.equal(await ask(fixed(2, 4, 1)), { key: 2, asc: 4, ascq: 1, action: RETRY, name: 'not ready' }, 'becoming ready');
  assert.is((await ask(fixed(2, 0x3a, 0)) as { action: number }).action, FAIL, 'medium not present');
  assert.is((await ask(fixed(2, 4, 3)) as { action: number }).action, FAIL, 'manual intervention required');
  assert.is((await ask(fixed(5, 0x20, 0)) as { action: number }).action, FAIL, 'invalid opcode');
  assert.is((await ask(fixed(3, 0x11, 0)) as { action: number }).action, FAIL, 'unrecovered read error');
  assert.is((await ask(fixed(1, 0x17, 1)) as { action: number }).action, OK, 'recovered');
  assert.is((await ask(fixed(0xb, 0x47, 0)) as { action: number }).action, RETRY, 'aborted command');
  // 0x71 (deferred) is fixed format too; bit 7 (VALID) does not change the format.
  assert.equal(await ask(Buffer.from([0xf1, 0, 0x07, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x27, 0, 0, 0, 0, 0])),
    { key: 7, asc: 0x27, ascq: 0, action: FAIL, name: 'data protect' });
  // Descriptor format (SPC-4 4.5.2): key, ASC, ASCQ in bytes 1-3.
  assert.equal(await ask(Buffer.from([0x72, 0x06, 0x28, 0x00, 0, 0, 0, 0])), { key: 6, asc: 0x28, ascq: 0, action: RETRY, name: 'unit attention' });
  assert.equal(await ask(Buffer.from([0x72, 0x06, 0x28])), { error: 1 }, 'descriptor format cut short');
  // An additional length too short to reach ASC/ASCQ: the key only.
  assert.equal(await ask(fixed(6, 0x29, 0, 5)), { key: 6, asc: 0, ascq: 0, action: RETRY, name: 'unit attention' });
  // An additional length of 255 on 14 bytes: only what arrived is read (ASan would catch more).
  assert.equal(await ask(fixed(6, 0x29, 7, 255).subarray(0, 14)), { key: 6, asc: 0x29, ascq: 7, action: RETRY, name: 'unit attention' });
  assert.equal(await ask(fixed(6, 0x29, 7).subarray(0, 13)), { key: 6, asc: 0, ascq: 0, action: RETRY, name: 'unit attention' });
  assert.equal(await ask(Buffer.from([0x70, 0])), { error: 1 });
  assert.equal(await ask(Buffer.alloc(0)), { error: 1 });
  assert.equal(await ask(fixed(6, 0, 0).fill(0x00, 0, 1)), { error: 1 }, 'response code 0 is not sense data');
});

test('INQUIRY: device type, removable bit, vendor and product trimmed and made printable; short answers', async () => {
  const b = Buffer.alloc(36);
  b[0] = 0; b[1] = 0x80; b[4] = 31;
  b.write('QEMU    ', 8, 'latin1');
  b.write('QEMU HARDDISK   ', 16, 'latin1');
  b.write('2.5+', 32, 'latin1');
  assert.equal(await host.ask(`inquiry ${hex(b)}`), { peripheral: 0, removable: 1, vendor: 'QEMU', product: 'QEMU HARDDISK' });
  const odd = Buffer.from(b);
  odd[9] = 0x07; odd[17] = 0xff; odd[0] = 0x05;
  assert.equal(await host.ask(`inquiry ${hex(odd)}`), { peripheral: 5, removable: 1, vendor: 'Q?MU', product: 'Q?MU HARDDISK' });
  assert.equal(await host.ask(`inquiry ${hex(b.subarray(0, 20))}`), { peripheral: 0, removable: 1, vendor: 'QEMU', product: '' });
  assert.equal(await host.ask(`inquiry ${hex(b.subarray(0, 4))}`), { error: 1 });
});

test('READ CAPACITY: (10) and (16), 512 and 4096-byte blocks, the 0xFFFFFFFF escape to (16), absurd block sizes refused', async () => {
  const cap10 = (last: number, bs: number) => { const b = Buffer.alloc(8); b.writeUInt32BE(last, 0); b.writeUInt32BE(bs, 4); return hex(b); };
  const cap16 = (last: bigint, bs: number) => { const b = Buffer.alloc(32); b.writeBigUInt64BE(last, 0); b.writeUInt32BE(bs, 8); return hex(b); };
  assert.equal(await host.ask(`cap10 ${cap10(151551, 512)}`), { blocks: 151552, blockSize: 512, need16: 0 });
  assert.equal(await host.ask(`cap10 ${cap10(0xfffffffe, 4096)}`), { blocks: 0xffffffff, blockSize: 4096, need16: 0 });
  assert.is((await host.ask<{ need16: number }>(`cap10 ${cap10(0xffffffff, 512)}`)).need16, 1);
  for (const bs of [0, 256, 520, 2048 + 1, 8192]) assert.equal(await host.ask(`cap10 ${cap10(100, bs)}`), { error: 1 }, `block size ${bs}`);
  assert.equal(await host.ask(`cap10 ${cap10(100, 512).slice(0, 14)}`), { error: 1 }, '7 bytes');
  assert.equal(await host.ask(`cap16 ${cap16(0x1_0000_0000n, 512)}`), { blocks: 0x1_0000_0001, blockSize: 512, need16: 0 });
  assert.equal(await host.ask(`cap16 ${cap16(0xffffffffffffffffn, 512)}`), { error: 1 }, 'last LBA 2^64-1 overflows');
  assert.equal(await host.ask(`cap16 ${cap16(5n, 4096).slice(0, 22)}`), { error: 1 }, '11 bytes');
});

// A USB 3 stick as USB 3.2 9.6 describes one (vendor 0781, product 5581): device, then configuration 1 with one mass-storage
// interface (class 8, subclass 6, protocol 0x50) and two bulk endpoints with SuperSpeed companions.
const device3 = Buffer.from([18, 1, 0x00, 0x03, 0, 0, 0, 9, 0x81, 0x07, 0x81, 0x55, 0x00, 0x01, 1, 2, 3, 1]);
function config(parts: Buffer[], value = 1): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.from([9, 2, 0, 0, 1, value, 0, 0x80, 50]);
  head.writeUInt16LE(9 + body.length, 2);
  return Buffer.concat([head, body]);
}
const iface = (n: number, cls: number, sub: number, proto: number, alt = 0, neps = 2) => Buffer.from([9, 4, n, alt, neps, cls, sub, proto, 0]);
const ep = (addr: number, attr: number, mps: number) => Buffer.from([7, 5, addr, attr, mps & 0xff, mps >> 8, 0]);
const companion = (burst: number) => Buffer.from([6, 0x30, burst, 0, 0, 0]);

test('device descriptor: USB 2 and USB 3 EP0 packet sizes; anything else refused', async () => {
  assert.equal(await host.ask(`device ${hex(device3)} 4`), { bcdUsb: 0x300, mps0: 512, vendor: 0x0781, product: 0x5581, configs: 1 });
  const d2 = Buffer.from(device3); d2.writeUInt16LE(0x200, 2); d2[7] = 64;
  assert.equal(await host.ask(`device ${hex(d2)} 3`), { bcdUsb: 0x200, mps0: 64, vendor: 0x0781, product: 0x5581, configs: 1 });
  assert.equal(await host.ask(`device ${hex(d2)} 4`), { error: 1 }, 'a byte count where SuperSpeed wants an exponent');
  d2[7] = 12;
  assert.equal(await host.ask(`device ${hex(d2)} 3`), { error: 1 }, 'max packet 12');
  assert.equal(await host.ask(`device ${hex(device3.subarray(0, 17))} 4`), { error: 1 }, 'cut short');
  const wrong = Buffer.from(device3); wrong[1] = 2;
  assert.equal(await host.ask(`device ${hex(wrong)} 4`), { error: 1 }, 'not a device descriptor');
});

test('configuration descriptors: the Bulk-Only interface is found past others, with SuperSpeed bursts; non-BOT, alternate settings and interrupt endpoints are passed over', async () => {
  type Msc = { config: number; iface: number; subclass: number; in: number; out: number; mpsIn: number; mpsOut: number; burstIn: number; burstOut: number };
  const ask = (b: Buffer) => host.ask<Msc | { error: 1 }>(`msc ${hex(b)}`);
  const usb3 = config([iface(0, 8, 6, 0x50), ep(0x81, 2, 1024), companion(15), ep(0x02, 2, 1024), companion(3)]);
  assert.equal(await ask(usb3), { config: 1, iface: 0, subclass: 6, in: 0x81, out: 0x02, mpsIn: 1024, mpsOut: 1024, burstIn: 15, burstOut: 3 });
  // A UAS-capable stick: BOT at alternate 0, UAS (protocol 0x62) at alternate 1; an HID interface first.
  const mixed = config([
    iface(0, 3, 0, 0, 0, 1), ep(0x83, 3, 8),
    iface(1, 8, 6, 0x50), Buffer.from([5, 0x24, 0, 0, 0]), ep(0x84, 3, 16), ep(0x02, 2, 512), ep(0x81, 2, 512),
    iface(1, 8, 6, 0x62, 1, 4), ep(0x85, 2, 512), ep(0x06, 2, 512),
  ], 2);
  assert.equal(await ask(mixed), { config: 2, iface: 1, subclass: 6, in: 0x81, out: 0x02, mpsIn: 512, mpsOut: 512, burstIn: 0, burstOut: 0 });
  assert.equal(await ask(config([iface(0, 8, 6, 0x62), ep(0x81, 2, 512), ep(0x02, 2, 512)])), { error: 1 }, 'UAS only');
  assert.equal(await ask(config([iface(0, 8, 6, 0x50), ep(0x81, 2, 512)])), { error: 1 }, 'no OUT endpoint');
  assert.equal(await ask(config([iface(0, 8, 6, 0x50), ep(0x81, 2, 0), ep(0x02, 2, 512)])), { error: 1 }, 'max packet 0');
  // Lengths that lie: a descriptor of length 0 (would loop), 1, or running past the set.
  for (const bad of [0, 1]) {
    const b = config([iface(0, 8, 6, 0x50), ep(0x81, 2, 512), ep(0x02, 2, 512)]);
    b[9 + 9] = bad;
    assert.equal(await ask(b), { error: 1 }, `bLength ${bad}`);
  }
  const past = config([iface(0, 8, 6, 0x50), ep(0x81, 2, 512), ep(0x02, 2, 512)]);
  past[past.length - 7] = 40;
  assert.equal(await ask(past), { error: 1 }, 'last descriptor past the end');
  // wTotalLength larger than what was read: the walk stops at what arrived.
  const short = Buffer.from(usb3); short.writeUInt16LE(4000, 2);
  assert.is(((await ask(short)) as Msc).in, 0x81);
  // wTotalLength smaller: what is past it is not looked at.
  const cut = Buffer.from(usb3); cut.writeUInt16LE(9 + 9 + 7 + 6, 2);
  assert.equal(await ask(cut), { error: 1 });
  // Every truncation of a valid set is walked safely (ASan watches the reads).
  for (let n = 0; n < mixed.length; n++) await ask(mixed.subarray(0, n));
});

test('Normal TRBs: split at 64 KiB boundaries, chained, ISP everywhere and IOC on the last, TD Size counting packets left', async () => {
  type Td = { trbs: [string, number, number][] } | { error: 1 };
  const NORMAL = 1 << 10, ISP = 1 << 2, CHAIN = 1 << 4, IOC = 1 << 5;
  const td = (buf: number, len: number, mps: number, max = 8) => host.ask<Td>(`td ${buf.toString(16)} ${len} ${mps} ${max}`);
  assert.equal(await td(0x200000, 31, 512), { trbs: [['200000', 31, NORMAL | ISP | IOC]] });
  assert.equal(await td(0x200000, 0, 512), { trbs: [['200000', 0, NORMAL | ISP | IOC]] }, 'zero-length');
  assert.equal(await td(0x200000, 65536, 512), { trbs: [['200000', 65536, NORMAL | ISP | IOC]] }, 'exactly one 64 KiB piece');
  // 64 KiB from 0x1fff0: 16 bytes, then 65520 bytes; TD Size = packets after the first TRB.
  assert.equal(await td(0x1fff0, 65536, 512), { trbs: [
    ['1fff0', 16 | 31 << 17, NORMAL | ISP | CHAIN],   // 128 packets left, saturated
    ['20000', 65520, NORMAL | ISP | IOC],
  ] });
  // TD Size saturates at 31.
  const big = await td(0x1fff0, 131072, 1024) as { trbs: [string, number, number][] };
  assert.equal(big.trbs.map((t) => [t[1] & 0x1ffff, t[1] >>> 17]), [[16, 31], [65536, 64], [65520, 0]].map(([a, b]) => [a, Math.min(b!, 31)]));
  assert.equal(await td(0x1fff0, 131072, 1024, 2), { error: 1 }, 'more TRBs than room');
  assert.equal(await td(0x1000, 10, 0), { error: 1 }, 'max packet 0');
});

test('producer rings: the Link TRB at the end hands the ring back with the cycle bit toggled, carries the chain bit inside a TD, and addresses map back to indexes', async () => {
  type Ring = { at: number[]; enq: number; cycle: number; deq: string; outside: number[]; trbs: [string, number][] };
  const CHAIN = 1 << 4, LINK = 6 << 10, TOGGLE = 2;
  // A ring of 4: three TRBs per lap, then the Link. Seven pushes: two laps and one more.
  const r = await host.ask<Ring>(`ring 4 ${[1, 1, 1, 1, CHAIN, 1, 1].join(' ')}`);
  assert.equal(r.at, [0, 1, 2, 0, 1, 2, 0]);
  assert.is(r.enq, 1);
  assert.is(r.cycle, 1, 'two laps: toggled twice');
  assert.is(r.deq, (0x100000 + 16 + 1).toString(16), 'dequeue pointer = next TRB | cycle state');
  assert.equal(r.outside, [-1, -1, -1], 'before the ring, inside a TRB, past the end');
  assert.equal(r.trbs[0], ['1006', 1], 'lap 3 writes with cycle 1 again');
  assert.equal(r.trbs[1], ['1004', 0 | CHAIN], 'lap 2 wrote with cycle 0');
  assert.equal(r.trbs[3], ['100000', LINK | TOGGLE | 0], 'the second Link: cycle 0, no chain (the TRB before it ended its TD)');
  const chained = await host.ask<Ring>(`ring 3 1 ${CHAIN} 1`);
  assert.equal(chained.trbs[2], ['100000', LINK | TOGGLE | CHAIN | 1], 'a Link inside a TD is chained');
  // Many laps on a small ring: the cycle is the parity of the laps.
  for (const [size, pushes] of [[2, 7], [5, 40], [16, 1000]] as const) {
    const m = await host.ask<Ring>(`ring ${size} ${Array(pushes).fill(1).join(' ')}`);
    const laps = Math.floor(pushes / (size - 1));
    assert.is(m.enq, pushes % (size - 1), `size ${size}, ${pushes} pushes`);
    assert.is(m.cycle, laps % 2 === 0 ? 1 : 0, `size ${size}, ${pushes} pushes`);
  }
});

test('the event ring: every event read once and in order across many wraps; entries from the last lap never read as new', async () => {
  for (const [size, n] of [[2, 50], [4, 1000], [16, 5000], [256, 3000]] as const) {
    const r = await host.ask<{ popped: number; inOrder: number; deq: number; cycle: number; deqPhys: string }>(`events ${size} ${n}`);
    assert.is(r.popped, n);
    assert.is(r.inOrder, 1, `size ${size}`);
    assert.is(r.deq, n % size);
    assert.is(r.cycle, Math.floor(n / size) % 2 === 0 ? 1 : 0);
    assert.is(r.deqPhys, (0x200000 + 16 * (n % size)).toString(16));
  }
});

test('hostile input: 40000 random and mangled buffers through every parser without a memory error', async () => {
  assert.equal(await host.ask('fuzz 2463534242 40000'), { runs: 40000 });
});

test.run();
