// The core-dump partition: the TypeScript twin of common/coredump.h (docs/coredump.md is the
// spec). Reads the dumps the kernel wrote, tells complete ones from ones cut short, and writes
// the same format: the partition header (--clear) and whole dumps (test fixtures). The host
// tests hold this file and the C header to the same bytes.

import { crc32 } from './crc32.js';
import { KiB, MiB, type Bytes } from './units.js';
import { readSpaced, type ByteSource } from './sink.js';
import { BankforgeError } from '../support/errors.js';

export const COREDUMP = {
  partMagic: 'BFCDPART',
  dumpMagic: 'BFCDDUMP',
  version: 1,
  /** Header areas, the start of the body, and the unit of every write. */
  block: 4096,
  partHeaderSize: 64,
  headerSize: 512,
  regsSize: 200,
  defaultSlotSize: MiB,
  minSlotSize: 128 * KiB,
  maxSlots: 4096,
  reasonLen: 192,
  buildLen: 32,
} as const;

/** Partition header field offsets (struct bf_cd_part_header). */
const P = { magic: 0, version: 8, headerSize: 12, slotSize: 16, slotCount: 20, slotsOffset: 24, clearedSeq: 32, crc: 60 } as const;

/** Dump header field offsets (struct bf_cd_header). */
const H = {
  magic: 0, version: 8, headerSize: 12, seq: 16, slot: 24, state: 28, rtcTime: 32, uptimeMs: 40, tsc: 48, tscHz: 56,
  bank: 64, bootstate: 68, build: 72, kernelStart: 104, kernelEnd: 112, panicAddr: 120, cause: 128, vector: 132,
  errorCode: 136, faultAddr: 144, reason: 152, sections: 344, logWritten: 376, bodySize: 384, bodyCrc: 388, crc: 508,
} as const;

/** Register names in struct bf_cd_regs order (8 bytes each), then flags (u32) at 192. */
export const REGISTERS = [
  'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
  'rip', 'rflags', 'cs', 'ss', 'cr0', 'cr2', 'cr3', 'cr4',
] as const;
export type Register = (typeof REGISTERS)[number];
const REGS_FLAGS = 192;
/** Every register is the faulting context's; without it only rip, rsp, rbp and control registers are. */
export const REGS_ALL = 1;

/** struct bf_boot_info field offsets (common/bootinfo.h) of the fields a report shows. */
const BI = {
  magic: 0, bank: 72, bootstate: 76, version: 80, sectorSize: 112, transport: 116, sectors: 120, diskGuid: 128,
  banks: 152, coredumpFirst: 184, coredumpLast: 192, tscHz: 200,
} as const;
const BOOTINFO_MAGIC = 0x4f464e49544f4f42n;
const TRANSPORTS = ['unknown', 'virtio', 'usb', 'sata', 'nvme', 'scsi'];

export enum DumpState { Writing = 1, Complete = 2 }
export enum Cause { Panic = 1, Exception = 2 }
export enum Section { Regs = 0, Backtrace = 1, Log = 2, BootInfo = 3 }
const SECTIONS = 4;

export class CoredumpError extends BankforgeError {}

export interface Geometry {
  slotSize: Bytes;
  slotCount: number;
  slotsOffset: Bytes;
  clearedSeq: number;
  /** True when it came from a valid partition header, false for the defaults of an unformatted partition. */
  formatted: boolean;
}

export interface DumpHeader {
  seq: number;
  slot: number;
  state: DumpState;
  /** Seconds since 1970 from the CMOS RTC; 0 when the kernel could not read it. */
  rtcTime: number;
  uptimeMs: number;
  tsc: bigint;
  tscHz: number;
  bank: number;
  bootstate: number;
  build: string;
  kernelStart: bigint;
  kernelEnd: bigint;
  panicAddr: bigint;
  cause: Cause;
  vector: number;
  errorCode: bigint;
  faultAddr: bigint;
  reason: string;
  sections: { offset: number; length: number }[];
  logWritten: number;
  bodySize: number;
  bodyCrc: number;
}

export interface BootInfoSummary {
  bank: number;
  bootstate: number;
  version: string;
  sectorSize: number;
  transport: string;
  sectors: number;
  /** Bank A's and bank B's partitions (LBA ranges, inclusive). */
  banks: { firstLba: number; lastLba: number }[];
  coredump: { firstLba: number; lastLba: number };
  tscHz: number;
}

export interface DumpBody {
  regs: Record<Register, bigint>;
  /** Only rip, rsp, rbp and the control registers are meaningful when false (a panic, not an exception). */
  allRegisters: boolean;
  backtrace: bigint[];
  log: string;
  bootInfo: BootInfoSummary | undefined;
}

export type Dump =
  | { slot: number; cleared: boolean; status: 'complete'; header: DumpHeader; body: DumpBody; raw: Buffer }
  | { slot: number; cleared: boolean; status: 'incomplete'; problem: string; header: DumpHeader };

function text(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
}

function padded(s: string, len: number, what: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length >= len) throw new CoredumpError(`${what}: at most ${len - 1} bytes, got ${bytes.length}`);
  const b = Buffer.alloc(len);
  bytes.copy(b);
  return b;
}

/** The geometry of a partition of `partSize` bytes: its header's when valid (and fitting), else the defaults. */
export function geometryOf(first: Uint8Array, partSize: Bytes): Geometry {
  return parsePartHeader(first, partSize) ?? defaultGeometry(partSize);
}

/** The geometry an unformatted partition gets (as bf_cd_geometry computes it). */
export function defaultGeometry(partSize: Bytes): Geometry {
  if (partSize < COREDUMP.block + COREDUMP.minSlotSize) {
    throw new CoredumpError(`a core-dump partition of ${partSize} bytes is too small: expected at least ${COREDUMP.block + COREDUMP.minSlotSize}`);
  }
  const space = partSize - COREDUMP.block;
  const slotSize = space < COREDUMP.defaultSlotSize ? Math.floor(space / COREDUMP.block) * COREDUMP.block : COREDUMP.defaultSlotSize;
  return { slotSize, slotCount: Math.min(Math.floor(space / slotSize), COREDUMP.maxSlots), slotsOffset: COREDUMP.block, clearedSeq: 0, formatted: false };
}

export function parsePartHeader(first: Uint8Array, partSize: Bytes): Geometry | undefined {
  const b = Buffer.from(first.buffer, first.byteOffset, COREDUMP.partHeaderSize);
  if (b.toString('latin1', P.magic, P.magic + 8) !== COREDUMP.partMagic) return undefined;
  if (b.readUInt32LE(P.version) !== COREDUMP.version || b.readUInt32LE(P.headerSize) !== COREDUMP.partHeaderSize) return undefined;
  if (crc32(b.subarray(0, P.crc)) !== b.readUInt32LE(P.crc)) return undefined;
  const g: Geometry = {
    slotSize: b.readUInt32LE(P.slotSize), slotCount: b.readUInt32LE(P.slotCount),
    slotsOffset: Number(b.readBigUInt64LE(P.slotsOffset)), clearedSeq: Number(b.readBigUInt64LE(P.clearedSeq)), formatted: true,
  };
  const fits = g.slotSize % COREDUMP.block === 0 && g.slotSize >= COREDUMP.minSlotSize && g.slotCount >= 1 && g.slotCount <= COREDUMP.maxSlots &&
    g.slotsOffset % COREDUMP.block === 0 && g.slotsOffset >= COREDUMP.block && g.slotsOffset + g.slotSize * g.slotCount <= partSize;
  return fits ? g : undefined;
}

export function encodePartHeader(g: Omit<Geometry, 'formatted'>): Buffer {
  const b = Buffer.alloc(COREDUMP.block);
  b.write(COREDUMP.partMagic, P.magic, 'latin1');
  b.writeUInt32LE(COREDUMP.version, P.version);
  b.writeUInt32LE(COREDUMP.partHeaderSize, P.headerSize);
  b.writeUInt32LE(g.slotSize, P.slotSize);
  b.writeUInt32LE(g.slotCount, P.slotCount);
  b.writeBigUInt64LE(BigInt(g.slotsOffset), P.slotsOffset);
  b.writeBigUInt64LE(BigInt(g.clearedSeq), P.clearedSeq);
  b.writeUInt32LE(crc32(b.subarray(0, P.crc)), P.crc);
  return b;
}

export const slotOffset = (g: Geometry, slot: number): Bytes => g.slotsOffset + slot * g.slotSize;
export const slotOfSeq = (g: Geometry, seq: number): number => (seq - 1) % g.slotCount;

/** A slot's header, or undefined when the slot holds no dump (never written, cleared to zeros, garbage, stale). */
export function parseDumpHeader(buf: Uint8Array, g: Geometry, slot: number): DumpHeader | undefined {
  const b = Buffer.from(buf.buffer, buf.byteOffset, COREDUMP.headerSize);
  if (b.toString('latin1', H.magic, H.magic + 8) !== COREDUMP.dumpMagic) return undefined;
  if (b.readUInt32LE(H.version) !== COREDUMP.version || b.readUInt32LE(H.headerSize) !== COREDUMP.headerSize) return undefined;
  if (crc32(b.subarray(0, H.crc)) !== b.readUInt32LE(H.crc)) return undefined;
  const h: DumpHeader = {
    seq: Number(b.readBigUInt64LE(H.seq)), slot: b.readUInt32LE(H.slot), state: b.readUInt32LE(H.state),
    rtcTime: Number(b.readBigUInt64LE(H.rtcTime)), uptimeMs: Number(b.readBigUInt64LE(H.uptimeMs)), tsc: b.readBigUInt64LE(H.tsc),
    tscHz: Number(b.readBigUInt64LE(H.tscHz)), bank: b.readUInt32LE(H.bank), bootstate: b.readUInt32LE(H.bootstate),
    build: text(b.subarray(H.build, H.build + COREDUMP.buildLen)), kernelStart: b.readBigUInt64LE(H.kernelStart),
    kernelEnd: b.readBigUInt64LE(H.kernelEnd), panicAddr: b.readBigUInt64LE(H.panicAddr), cause: b.readUInt32LE(H.cause),
    vector: b.readUInt32LE(H.vector), errorCode: b.readBigUInt64LE(H.errorCode), faultAddr: b.readBigUInt64LE(H.faultAddr),
    reason: text(b.subarray(H.reason, H.reason + COREDUMP.reasonLen)),
    sections: Array.from({ length: SECTIONS }, (_, i) => ({ offset: b.readUInt32LE(H.sections + 8 * i), length: b.readUInt32LE(H.sections + 8 * i + 4) })),
    logWritten: Number(b.readBigUInt64LE(H.logWritten)), bodySize: b.readUInt32LE(H.bodySize), bodyCrc: b.readUInt32LE(H.bodyCrc),
  };
  // The same checks as bf_cd_header_valid: a header in the wrong slot is a leftover of another geometry.
  if (h.seq === 0 || h.slot !== slot || slotOfSeq(g, h.seq) !== slot) return undefined;
  if (h.state !== DumpState.Writing && h.state !== DumpState.Complete) return undefined;
  if (h.bodySize > g.slotSize - COREDUMP.block) return undefined;
  let end = 0;
  for (const s of h.sections) {
    if (s.offset !== end || s.offset + s.length > h.bodySize) return undefined;
    end = s.offset + s.length;
  }
  return end === h.bodySize ? h : undefined;
}

export function encodeDumpHeader(h: DumpHeader): Buffer {
  const b = Buffer.alloc(COREDUMP.headerSize);
  b.write(COREDUMP.dumpMagic, H.magic, 'latin1');
  b.writeUInt32LE(COREDUMP.version, H.version);
  b.writeUInt32LE(COREDUMP.headerSize, H.headerSize);
  b.writeBigUInt64LE(BigInt(h.seq), H.seq);
  b.writeUInt32LE(h.slot, H.slot);
  b.writeUInt32LE(h.state, H.state);
  b.writeBigUInt64LE(BigInt(h.rtcTime), H.rtcTime);
  b.writeBigUInt64LE(BigInt(h.uptimeMs), H.uptimeMs);
  b.writeBigUInt64LE(h.tsc, H.tsc);
  b.writeBigUInt64LE(BigInt(h.tscHz), H.tscHz);
  b.writeUInt32LE(h.bank, H.bank);
  b.writeUInt32LE(h.bootstate, H.bootstate);
  padded(h.build, COREDUMP.buildLen, 'build').copy(b, H.build);
  b.writeBigUInt64LE(h.kernelStart, H.kernelStart);
  b.writeBigUInt64LE(h.kernelEnd, H.kernelEnd);
  b.writeBigUInt64LE(h.panicAddr, H.panicAddr);
  b.writeUInt32LE(h.cause, H.cause);
  b.writeUInt32LE(h.vector, H.vector);
  b.writeBigUInt64LE(h.errorCode, H.errorCode);
  b.writeBigUInt64LE(h.faultAddr, H.faultAddr);
  padded(h.reason, COREDUMP.reasonLen, 'reason').copy(b, H.reason);
  h.sections.forEach((s, i) => { b.writeUInt32LE(s.offset, H.sections + 8 * i); b.writeUInt32LE(s.length, H.sections + 8 * i + 4); });
  b.writeBigUInt64LE(BigInt(h.logWritten), H.logWritten);
  b.writeUInt32LE(h.bodySize, H.bodySize);
  b.writeUInt32LE(h.bodyCrc, H.bodyCrc);
  b.writeUInt32LE(crc32(b.subarray(0, H.crc)), H.crc);
  return b;
}

export function parseBody(h: DumpHeader, body: Buffer): DumpBody {
  const sec = (s: Section) => body.subarray(h.sections[s]!.offset, h.sections[s]!.offset + h.sections[s]!.length);
  const r = sec(Section.Regs);
  if (r.length !== COREDUMP.regsSize) throw new CoredumpError(`register section: expected ${COREDUMP.regsSize} bytes, got ${r.length}`);
  const regs = Object.fromEntries(REGISTERS.map((name, i) => [name, r.readBigUInt64LE(8 * i)])) as Record<Register, bigint>;
  const bt = sec(Section.Backtrace);
  if (bt.length % 8) throw new CoredumpError(`backtrace section: expected a multiple of 8 bytes, got ${bt.length}`);
  return {
    regs,
    allRegisters: (r.readUInt32LE(REGS_FLAGS) & REGS_ALL) !== 0,
    backtrace: Array.from({ length: bt.length / 8 }, (_, i) => bt.readBigUInt64LE(8 * i)),
    log: sec(Section.Log).toString('latin1'),
    bootInfo: parseBootInfo(sec(Section.BootInfo)),
  };
}

function parseBootInfo(b: Buffer): BootInfoSummary | undefined {
  if (b.length < BI.tscHz + 8 || b.readBigUInt64LE(BI.magic) !== BOOTINFO_MAGIC) return undefined;
  return {
    bank: b.readUInt32LE(BI.bank), bootstate: b.readUInt32LE(BI.bootstate), version: text(b.subarray(BI.version, BI.version + 32)),
    sectorSize: b.readUInt32LE(BI.sectorSize), transport: TRANSPORTS[b.readUInt32LE(BI.transport)] ?? String(b.readUInt32LE(BI.transport)),
    sectors: Number(b.readBigUInt64LE(BI.sectors)),
    banks: [0, 1].map((i) => ({ firstLba: Number(b.readBigUInt64LE(BI.banks + 16 * i)), lastLba: Number(b.readBigUInt64LE(BI.banks + 16 * i + 8)) })),
    coredump: { firstLba: Number(b.readBigUInt64LE(BI.coredumpFirst)), lastLba: Number(b.readBigUInt64LE(BI.coredumpLast)) },
    tscHz: Number(b.readBigUInt64LE(BI.tscHz)),
  };
}

/** What a fixture or the writer puts in a dump; the sections are laid out back to back. */
export interface DumpContent {
  header: Omit<DumpHeader, 'slot' | 'state' | 'sections' | 'bodySize' | 'bodyCrc'>;
  regs: Partial<Record<Register, bigint>>;
  allRegisters: boolean;
  backtrace: bigint[];
  log: Buffer;
  bootInfo: Buffer;
}

/** A dump as the kernel writes it into slot (seq - 1) % slotCount: its header block and its body. */
export function encodeDump(g: Geometry, c: DumpContent, state = DumpState.Complete): { offset: Bytes; header: Buffer; body: Buffer } {
  const regs = Buffer.alloc(COREDUMP.regsSize);
  REGISTERS.forEach((name, i) => regs.writeBigUInt64LE(c.regs[name] ?? 0n, 8 * i));
  regs.writeUInt32LE(c.allRegisters ? REGS_ALL : 0, REGS_FLAGS);
  const bt = Buffer.alloc(8 * c.backtrace.length);
  c.backtrace.forEach((a, i) => bt.writeBigUInt64LE(a, 8 * i));
  const parts = [regs, bt, c.log, c.bootInfo];
  const body = Buffer.concat(parts);
  if (body.length > g.slotSize - COREDUMP.block) throw new CoredumpError(`a body of ${body.length} bytes does not fit a slot of ${g.slotSize}`);
  let at = 0;
  const sections = parts.map((p) => { const s = { offset: at, length: p.length }; at += p.length; return s; });
  const slot = slotOfSeq(g, c.header.seq);
  const header = Buffer.alloc(COREDUMP.block);
  encodeDumpHeader({
    ...c.header, slot, state, sections, bodySize: body.length, bodyCrc: state === DumpState.Complete ? crc32(body) : 0,
  }).copy(header);
  return { offset: slotOffset(g, slot), header, body };
}

/** A dump's slot and valid header, its body not read. */
export interface DumpHeaderEntry { slot: number; cleared: boolean; header: DumpHeader }

/**
 * The valid dump headers, oldest first, without reading a body: what `bankforge status` needs to
 * count the dumps and name a bank's last panic, at a slot header's read each instead of a body's
 * read and CRC (three 64 KiB dumps cost status 8 ms).
 */
export async function readDumpHeaders(src: ByteSource): Promise<{ geometry: Geometry; entries: DumpHeaderEntry[] }> {
  const geometry = geometryOf(await src.read(0, COREDUMP.partHeaderSize), src.size);
  // At most maxSlots (4096) headers: 2 MiB in one buffer.
  const heads = await readSpaced(src, slotOffset(geometry, 0), geometry.slotSize, geometry.slotCount, COREDUMP.headerSize);
  const entries: DumpHeaderEntry[] = [];
  for (let slot = 0; slot < geometry.slotCount; slot++) {
    const header = parseDumpHeader(heads.subarray(slot * COREDUMP.headerSize, (slot + 1) * COREDUMP.headerSize), geometry, slot);
    if (header) entries.push({ slot, cleared: header.seq <= geometry.clearedSeq, header });
  }
  entries.sort((a, b) => a.header.seq - b.header.seq);
  return { geometry, entries };
}

/** Every slot's dump, oldest first. `src` addresses the partition from 0. */
export async function readDumps(src: ByteSource): Promise<{ geometry: Geometry; dumps: Dump[] }> {
  const { geometry, entries } = await readDumpHeaders(src);
  const dumps: Dump[] = [];
  for (const { slot, cleared, header } of entries) {
    const at = slotOffset(geometry, slot);
    if (header.state === DumpState.Writing) {
      dumps.push({ slot, cleared, status: 'incomplete', problem: 'cut short while being written (the header still says "writing")', header });
      continue;
    }
    const raw = await src.read(at + COREDUMP.block, header.bodySize);
    const bodyCrc = crc32(raw);
    if (bodyCrc !== header.bodyCrc) {
      dumps.push({ slot, cleared, status: 'incomplete', problem: `body CRC mismatch (header says 0x${hex32(header.bodyCrc)}, body has 0x${hex32(bodyCrc)})`, header });
      continue;
    }
    try {
      dumps.push({ slot, cleared, status: 'complete', header, body: parseBody(header, raw), raw });
    } catch (e) {
      if (!(e instanceof CoredumpError)) throw e;
      dumps.push({ slot, cleared, status: 'incomplete', problem: e.message, header });
    }
  }
  return { geometry, dumps };
}

/**
 * The partition header that clears every dump: same geometry (the defaults when the partition
 * had none), cleared_seq at the newest sequence number on disk so later dumps continue above it.
 */
export function clearHeader(geometry: Geometry, dumps: Dump[]): Buffer {
  const newest = dumps.reduce((m, d) => Math.max(m, d.header.seq), geometry.clearedSeq);
  return encodePartHeader({ ...geometry, clearedSeq: newest });
}

const hex32 = (n: number) => n.toString(16).padStart(8, '0');
