// The host configuration (docs/host.md, "Configuration"): the settings, the rule each value must
// pass, and the record that keeps them at the end of the store partition. The TypeScript twin of
// common/hostcfg.c, held to the same answers and messages by test/vectors/host-settings.json and
// config-record.json. Like the C, it works on bytes: a value's limits are in bytes, and text read
// from a record is latin1 (one character a byte).
//
// The area is the last 12 KiB of the partition whose GPT name is "store", which the builder
// leaves out of the store's FAT: a 4 KiB marker ("BFCFAREA": without it nobody writes there),
// then two 4 KiB slots. A record is
//   0 "BFHOSTCF", 8 u32 format 1, 12 u32 seq, 16 u32 text length, 20 u32 CRC-32, 24 text,
// little-endian, the CRC over bytes 0-19 and the text, the text "key=value\n" lines. The newer
// valid slot (by seq, wrapping) is current; a write goes to the other slot.

import { crc32 } from './crc32.js';
import { BankforgeError } from '../support/errors.js';

export const CONFIG = {
  /** The GPT name of the partition that holds the area. */
  partition: 'store',
  areaSize: 12288,
  markerSize: 4096,
  slotSize: 4096,
  headerSize: 24,
  textMax: 4096 - 24,
  format: 1,
  /** A value holds at most valueMax - 1 bytes. */
  valueMax: 128,
} as const;

const MAGIC = Buffer.from('BFHOSTCF', 'latin1');
export const AREA_MAGIC = Buffer.from('BFCFAREA', 'latin1');

/** The keys in record order, with their defaults; an empty root.password means "not set". */
export const KEYS: readonly { readonly name: string; readonly def: string }[] = [
  { name: 'hostname', def: 'localhost' },
  { name: 'net.mode', def: 'dhcp' },
  { name: 'net.address', def: '' },
  { name: 'net.netmask', def: '' },
  { name: 'net.gateway', def: '' },
  { name: 'net.dns', def: '' },
  { name: 'root.password', def: '' },
];

export type Settings = Record<string, string>;

/** Every setting at its default, as a fresh object (no prototype: a key is a setting or absent). */
export function defaults(): Settings {
  return Object.assign(Object.create(null) as Settings, Object.fromEntries(KEYS.map((k) => [k.name, k.def])));
}

export const DEFAULTS: Readonly<Settings> = Object.freeze(defaults());

export const isSetting = (key: string): boolean => KEYS.some((k) => k.name === key);

export interface ConfigRecord { seq: number; settings: Settings }

/** A record as the kernel reads it: its text, the settings it gives and the lines it left out. */
export interface DecodedRecord extends ConfigRecord {
  /** latin1 */
  text: string;
  skipped: { line: number; why: string }[];
}

/** A slot that holds no valid record; the message says why, in common/hostcfg.c's words. */
export class ConfigRecordError extends BankforgeError {}

/** Does this layout partition hold the configuration area? */
export function holdsConfig(gptName: string): boolean {
  return gptName === CONFIG.partition;
}

/** The area's first sector as the builder writes it: the magic, then zeros. */
export function configAreaMarker(sectorSize: number): Buffer {
  const b = Buffer.alloc(sectorSize);
  AREA_MAGIC.copy(b);
  return b;
}

// --- the rules --------------------------------------------------------------------------------

const HOSTNAME_MAX = 63;
const SALT_MAX = 16;
const HASH_LEN = 86;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;
/** A decimal number of 1 to n digits, no leading zero unless it is "0". */
const number = (n: number): string => `(?:0|[1-9][0-9]{0,${n - 1}})`;
const OCTET = new RegExp(`^${number(3)}$`);
const SHA512_CRYPT = new RegExp(`^\\$6\\$(?:rounds=(${number(9)})\\$)?[./0-9A-Za-z]{0,${SALT_MAX}}\\$[./0-9A-Za-z]{${HASH_LEN}}$`);

/** Dotted-quad IPv4, four numbers 0-255 without leading zeros: the address, or undefined. */
function ipv4(v: string): number | undefined {
  const parts = v.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((a, p) => ((a << 8) | Number(p)) >>> 0, 0);
}

function hostname(v: string): string | undefined {
  if (v.length === 0) return 'hostname: empty';
  if (v.length > HOSTNAME_MAX) return `hostname: ${v.length} bytes, at most ${HOSTNAME_MAX}`;
  const bad = v.search(/[^A-Za-z0-9.-]/);
  if (bad >= 0) return `hostname: byte ${bad + 1} is not a letter, digit, '-' or '.'`;
  const labels = v.split('.');
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === '') return `hostname: label ${i + 1} is empty`;
    if (labels[i]!.startsWith('-') || labels[i]!.endsWith('-')) return `hostname: label ${i + 1} starts or ends with '-'`;
  }
  return undefined;
}

/** The rule of a known key, for a value given as latin1 bytes. */
function rule(key: string, v: string): string | undefined {
  if (v.length >= CONFIG.valueMax) return `${key}: ${v.length} bytes, at most ${CONFIG.valueMax - 1}`;
  const ctl = v.search(/[\x00-\x1f\x7f]/);
  if (ctl >= 0) return `${key}: control character at byte ${ctl + 1}`;
  switch (key) {
    case 'hostname':
      return hostname(v);
    case 'net.mode':
      return v === 'dhcp' || v === 'static' ? undefined : 'net.mode: dhcp or static';
    case 'net.address': case 'net.netmask': case 'net.gateway': case 'net.dns': {
      if (v === '') return undefined; // not configured: DHCP, or no gateway or DNS server
      const a = ipv4(v);
      if (a === undefined) return `${key}: not an IPv4 address (four numbers 0-255 without leading zeros)`;
      // A mask is ones from the top, then zeros: ~a + 1 is then a power of two. /0 is no network.
      const inv = ~a >>> 0;
      if (key === 'net.netmask' && (a === 0 || (((inv + 1) >>> 0) & inv) !== 0)) return 'net.netmask: not a subnet mask (ones then zeros, /1 to /32)';
      return undefined;
    }
    case 'root.password': {
      if (v === '') return undefined;
      const m = SHA512_CRYPT.exec(v);
      const rounds = m?.[1] === undefined ? undefined : Number(m[1]);
      if (!m || (rounds !== undefined && (rounds < ROUNDS_MIN || rounds > ROUNDS_MAX))) return 'root.password: not a SHA-512 crypt hash ($6$[rounds=N$]SALT$HASH)';
      return undefined;
    }
    default:
      return undefined;
  }
}

const latin1 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

/** Check one setting the way the kernel (config_set, the DCUI) does: the message, or undefined when it passes. */
export function checkSetting(key: string, value: string): string | undefined {
  const k = latin1(key);
  if (!isSetting(k)) return `unknown setting ${Buffer.from(k, 'latin1').subarray(0, 40).toString('latin1')}`;
  return rule(k, latin1(value));
}

// --- the record -------------------------------------------------------------------------------

function crc(header: Uint8Array, text: Uint8Array): number {
  return crc32(text, crc32(header.subarray(0, 20)));
}

/** "key=value\n" lines, every key in record order (own values only; the rest at their defaults). */
export function recordText(settings: Settings): Buffer {
  return Buffer.from(KEYS.map((k) => `${k.name}=${Object.hasOwn(settings, k.name) ? settings[k.name] : k.def}\n`).join(''), 'utf8');
}

export function encodeRecordText(seq: number, text: Uint8Array): Buffer {
  if (text.length > CONFIG.textMax) throw new ConfigRecordError(`config record: text of ${text.length} bytes, at most ${CONFIG.textMax}`);
  const b = Buffer.alloc(CONFIG.headerSize + text.length);
  MAGIC.copy(b, 0);
  b.writeUInt32LE(CONFIG.format, 8);
  b.writeUInt32LE(seq >>> 0, 12);
  b.writeUInt32LE(text.length, 16);
  b.set(text, CONFIG.headerSize);
  b.writeUInt32LE(crc(b, text), 20);
  return b;
}

export function encodeRecord(rec: ConfigRecord): Buffer {
  return encodeRecordText(rec.seq, recordText(rec.settings));
}

/** The text must be "key=value\n" lines, whole, before anything of it is applied. */
function checkLines(text: string): void {
  if (text.length && !text.endsWith('\n')) throw new ConfigRecordError('config record: text does not end with a newline');
  text.slice(0, -1).split('\n').forEach((line, i) => {
    if (text.length && !line.includes('=')) throw new ConfigRecordError(`config record: line ${i + 1}: no '='`);
  });
}

/** The record at the start of `bytes` as the kernel reads it; throws ConfigRecordError when there is none. */
export function decodeRecordBytes(bytes: Uint8Array): DecodedRecord {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const H = CONFIG.headerSize;
  if (b.length < H) throw new ConfigRecordError(`config record: ${b.length} bytes, shorter than its ${H}-byte header`);
  if (!b.subarray(0, 8).equals(MAGIC)) throw new ConfigRecordError('config record: no magic BFHOSTCF');
  const format = b.readUInt32LE(8);
  if (format !== CONFIG.format) throw new ConfigRecordError(`config record: format ${format}, expected ${CONFIG.format}`);
  const n = b.readUInt32LE(16);
  if (n > CONFIG.textMax) throw new ConfigRecordError(`config record: text length ${n} over ${CONFIG.textMax}`);
  if (n > b.length - H) throw new ConfigRecordError(`config record: text length ${n} runs past its ${b.length} bytes`);
  const raw = b.subarray(H, H + n);
  if (crc(b, raw) !== b.readUInt32LE(20)) throw new ConfigRecordError('config record: CRC mismatch');
  const text = raw.toString('latin1');
  checkLines(text);
  const settings = defaults();
  const skipped: DecodedRecord['skipped'] = [];
  text.split('\n').slice(0, -1).forEach((line, i) => {
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    // The C names the key with %.*s: at most 40 bytes, and up to a NUL.
    const why = isSetting(key) ? rule(key, line.slice(eq + 1)) : `unknown setting ${key.slice(0, 40).split('\0')[0]}`;
    if (why === undefined) settings[key] = line.slice(eq + 1);
    else skipped.push({ line: i + 1, why });
  });
  return { seq: b.readUInt32LE(12), text, settings, skipped };
}

/** The record in a slot, or undefined when the slot holds no valid one. */
export function decodeRecord(slot: Uint8Array): DecodedRecord | undefined {
  try {
    return decodeRecordBytes(slot);
  } catch (e) {
    if (e instanceof ConfigRecordError) return undefined;
    throw e;
  }
}

export interface ConfigView { current: 0 | 1 | undefined; record: DecodedRecord | undefined }

/** The current copy among two slots: the valid one, or of two the newer, seq compared as int32(b - a) > 0 so it may wrap. */
export function readSlots(a: Uint8Array, b: Uint8Array): ConfigView {
  const ra = decodeRecord(a);
  const rb = decodeRecord(b);
  if (ra && rb) return ((rb.seq - ra.seq) | 0) > 0 ? { current: 1, record: rb } : { current: 0, record: ra };
  if (ra) return { current: 0, record: ra };
  if (rb) return { current: 1, record: rb };
  return { current: undefined, record: undefined };
}
