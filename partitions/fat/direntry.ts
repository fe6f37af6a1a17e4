// 32-byte directory entries: the short (8.3) entry and the VFAT long-name entries that precede it.
// Encoders write into a caller's buffer; the parser turns a directory's bytes back into named entries.

import type { Bytes } from '../units.js';
import {
  ATTR, DIRENT, DIRENT_SIZE, ENTRY_DELETED, ENTRY_END, ENTRY_KANJI_E5, LFN, LFN_CHARS_PER_ENTRY, LFN_LAST_FLAG, LFN_UNITS, NT_LOWER_BASE, NT_LOWER_EXT,
} from './spec.js';
import { shortNameChecksum, shortNameToString } from './names.js';
import type { FatStamp } from './timestamps.js';

export interface ShortEntry {
  /** 11 bytes, space padded, as stored. */
  name: Uint8Array;
  attr: number;
  cluster: number;
  size: Bytes;
  created: FatStamp;
  accessDate: number;
  written: FatStamp;
}

export function writeShortEntry(buf: Uint8Array, at: number, e: ShortEntry): void {
  const v = new DataView(buf.buffer, buf.byteOffset + at, DIRENT_SIZE);
  buf.set(e.name, at + DIRENT.name);
  v.setUint8(DIRENT.attr, e.attr);
  v.setUint8(DIRENT.ntReserved, 0);
  v.setUint8(DIRENT.createTenths, e.created.tenths);
  v.setUint16(DIRENT.createTime, e.created.time, true);
  v.setUint16(DIRENT.createDate, e.created.date, true);
  v.setUint16(DIRENT.accessDate, e.accessDate, true);
  v.setUint16(DIRENT.clusterHigh, e.cluster >>> 16, true);
  v.setUint16(DIRENT.writeTime, e.written.time, true);
  v.setUint16(DIRENT.writeDate, e.written.date, true);
  v.setUint16(DIRENT.clusterLow, e.cluster & 0xffff, true);
  v.setUint32(DIRENT.size, e.size, true);
}

export function readShortEntry(buf: Uint8Array, at: number): ShortEntry {
  const v = new DataView(buf.buffer, buf.byteOffset + at, DIRENT_SIZE);
  const name = buf.slice(at + DIRENT.name, at + DIRENT.name + 11);
  if (name[0] === ENTRY_KANJI_E5) name[0] = ENTRY_DELETED;
  return {
    name,
    attr: v.getUint8(DIRENT.attr),
    cluster: (v.getUint16(DIRENT.clusterHigh, true) << 16) + v.getUint16(DIRENT.clusterLow, true),
    size: v.getUint32(DIRENT.size, true),
    created: { tenths: v.getUint8(DIRENT.createTenths), time: v.getUint16(DIRENT.createTime, true), date: v.getUint16(DIRENT.createDate, true) },
    accessDate: v.getUint16(DIRENT.accessDate, true),
    written: { tenths: 0, time: v.getUint16(DIRENT.writeTime, true), date: v.getUint16(DIRENT.writeDate, true) },
  };
}

/** How many LFN entries a long name takes. */
export function lfnEntryCount(longName: string): number {
  return Math.ceil(longName.length / LFN_CHARS_PER_ENTRY);
}

/** Writes the LFN entries of `longName` at `at`, in on-disk order (highest ordinal first); returns the bytes used. */
export function writeLfnEntries(buf: Uint8Array, at: number, longName: string, short: Uint8Array): Bytes {
  const count = lfnEntryCount(longName);
  const checksum = shortNameChecksum(short);
  for (let ord = count; ord >= 1; ord--) {
    const base = at + (count - ord) * DIRENT_SIZE;
    const v = new DataView(buf.buffer, buf.byteOffset + base, DIRENT_SIZE);
    v.setUint8(LFN.order, ord === count ? ord | LFN_LAST_FLAG : ord);
    v.setUint8(LFN.attr, ATTR.longName);
    v.setUint8(LFN.type, 0);
    v.setUint8(LFN.checksum, checksum);
    v.setUint16(LFN.clusterLow, 0, true);
    // A name that does not fill its last entry ends with one 0x0000, then 0xFFFF padding.
    let i = (ord - 1) * LFN_CHARS_PER_ENTRY;
    for (const field of LFN_UNITS) {
      for (let k = 0; k < field.count; k++, i++) {
        const unit = i < longName.length ? longName.charCodeAt(i) : i === longName.length ? 0x0000 : 0xffff;
        v.setUint16(field.offset + k * 2, unit, true);
      }
    }
  }
  return count * DIRENT_SIZE;
}

export interface ParsedEntry {
  /** The long name when a valid LFN run precedes the entry, otherwise the 8.3 name. */
  name: string;
  shortName: string;
  entry: ShortEntry;
  /** Byte offset of the short entry within the directory's bytes. */
  offset: Bytes;
}

/**
 * Reads a directory's bytes up to its end marker. LFN runs whose ordinals or checksum do not match the
 * short entry are ignored (the short name is used), as the spec tells readers to. Deleted entries and
 * the volume label are skipped; `.` and `..` are returned like any other entry.
 */
export function parseDirectory(bytes: Uint8Array): { entries: ParsedEntry[]; label?: string } {
  const entries: ParsedEntry[] = [];
  let label: string | undefined;
  let lfn: { parts: string[]; checksum: number; next: number } | undefined;
  for (let at = 0; at + DIRENT_SIZE <= bytes.length; at += DIRENT_SIZE) {
    const first = bytes[at]!;
    if (first === ENTRY_END) break;
    const attr = bytes[at + DIRENT.attr]!;
    if (first === ENTRY_DELETED) { lfn = undefined; continue; }
    if ((attr & 0x3f) === ATTR.longName) {
      const ord = first & ~LFN_LAST_FLAG;
      const checksum = bytes[at + LFN.checksum]!;
      if (first & LFN_LAST_FLAG) lfn = { parts: [], checksum, next: ord };
      if (!lfn || lfn.next !== ord || lfn.checksum !== checksum || ord === 0) { lfn = undefined; continue; }
      let part = '';
      const v = new DataView(bytes.buffer, bytes.byteOffset + at, DIRENT_SIZE);
      outer: for (const field of LFN_UNITS) {
        for (let k = 0; k < field.count; k++) {
          const unit = v.getUint16(field.offset + k * 2, true);
          if (unit === 0x0000) break outer;
          part += String.fromCharCode(unit);
        }
      }
      lfn.parts.unshift(part);
      lfn.next = ord - 1;
      continue;
    }
    const entry = readShortEntry(bytes, at);
    const complete = lfn && lfn.next === 0 && lfn.checksum === shortNameChecksum(bytes.subarray(at, at + 11));
    const longName = complete ? lfn!.parts.join('') : undefined;
    lfn = undefined;
    if (attr & ATTR.volumeLabel) {
      if (!(attr & ATTR.directory)) label = String.fromCharCode(...entry.name).replace(/ +$/, '');
      continue;
    }
    const shortName = shortNameToString(entry.name);
    entries.push({ name: longName ?? displayShortName(shortName, bytes[at + DIRENT.ntReserved]!), shortName, entry, offset: at });
  }
  return label === undefined ? { entries } : { entries, label };
}

/** The short name as its creator meant it shown, applying the NT lowercase flags. */
function displayShortName(shortName: string, nt: number): string {
  if (shortName.startsWith('.')) return shortName; // '.' and '..'
  const dot = shortName.indexOf('.');
  const base = dot < 0 ? shortName : shortName.slice(0, dot);
  const ext = dot < 0 ? '' : shortName.slice(dot + 1);
  const b = nt & NT_LOWER_BASE ? base.toLowerCase() : base;
  const e = nt & NT_LOWER_EXT ? ext.toLowerCase() : ext;
  return e ? `${b}.${e}` : b;
}
