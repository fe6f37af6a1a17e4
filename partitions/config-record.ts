// The host configuration record (docs/host.md, "Configuration"), the TypeScript twin of
// kernel/config.c. The area is the last 12 KiB of the partition whose GPT name is "store", which
// the builder leaves out of the store's FAT: a 4 KiB marker ("BFCFAREA", written by the builder:
// without it nobody writes there, so an image whose FAT covers the whole store is never
// damaged), then two 4 KiB slots. A record is
//   0 "BFHOSTCF", 8 u32 format 1, 12 u32 seq, 16 u32 text length, 20 u32 CRC-32, 24 text,
// little-endian, the CRC over bytes 0-19 and the text, the text "key=value\n" lines. The newer
// valid slot (by seq, wrapping) is current; a write goes to the other slot.

import CRC32 from 'crc-32';

export const CONFIG = {
  /** The GPT name of the partition that holds the area. */
  partition: 'store',
  areaSize: 12288,
  markerSize: 4096,
  slotSize: 4096,
  headerSize: 24,
  format: 1,
} as const;

const MAGIC = Buffer.from('BFHOSTCF', 'latin1');
export const AREA_MAGIC = Buffer.from('BFCFAREA', 'latin1');

/** The area's first sector as the builder writes it: the magic, then zeros. */
export function configAreaMarker(sectorSize: number): Buffer {
  const b = Buffer.alloc(sectorSize);
  AREA_MAGIC.copy(b);
  return b;
}

/** The settings the kernel knows, with its defaults (kernel/config.c keeps the same table). */
export const DEFAULTS: Readonly<Record<string, string>> = {
  hostname: 'localhost',
  'net.mode': 'dhcp',
  'net.address': '',
  'net.netmask': '',
  'net.gateway': '',
  'net.dns': '',
  'root.password': '',
};

export const VALUE_MAX = 127;

export type Settings = Record<string, string>;

export interface ConfigRecord { seq: number; settings: Settings }

/** Does this layout partition hold the configuration area? */
export function holdsConfig(gptName: string): boolean {
  return gptName === CONFIG.partition;
}

function crc(buf: Buffer, text: Buffer): number {
  return CRC32.buf(text, CRC32.buf(buf.subarray(0, 20))) >>> 0;
}

export function encodeRecord(rec: ConfigRecord): Buffer {
  const text = Buffer.from(Object.keys(DEFAULTS).map((k) => `${k}=${rec.settings[k] ?? DEFAULTS[k]}\n`).join(''), 'utf8');
  if (CONFIG.headerSize + text.length > CONFIG.slotSize) throw new Error('configuration does not fit in a slot');
  const b = Buffer.alloc(CONFIG.headerSize + text.length);
  MAGIC.copy(b, 0);
  b.writeUInt32LE(CONFIG.format, 8);
  b.writeUInt32LE(rec.seq >>> 0, 12);
  b.writeUInt32LE(text.length, 16);
  text.copy(b, CONFIG.headerSize);
  b.writeUInt32LE(crc(b, text), 20);
  return b;
}

/** The record in a slot, or undefined when the slot holds no valid one. */
export function decodeRecord(slot: Buffer): ConfigRecord | undefined {
  if (slot.length < CONFIG.headerSize || !slot.subarray(0, 8).equals(MAGIC) || slot.readUInt32LE(8) !== CONFIG.format) return undefined;
  const n = slot.readUInt32LE(16);
  if (n > CONFIG.slotSize - CONFIG.headerSize || n > slot.length - CONFIG.headerSize) return undefined;
  const text = slot.subarray(CONFIG.headerSize, CONFIG.headerSize + n);
  if (crc(slot, text) !== slot.readUInt32LE(20)) return undefined;
  const settings: Settings = { ...DEFAULTS };
  const s = text.toString('utf8');
  if (s.length && !s.endsWith('\n')) return undefined;
  for (const line of s.split('\n').slice(0, -1)) {
    const eq = line.indexOf('=');
    if (eq < 0) return undefined;
    const key = line.slice(0, eq);
    if (key in DEFAULTS) settings[key] = line.slice(eq + 1);
  }
  return { seq: slot.readUInt32LE(12), settings };
}

export interface ConfigView { current: 0 | 1 | undefined; record: ConfigRecord | undefined }

/** The current copy among two slots (the newer valid one). */
export function readSlots(a: Buffer, b: Buffer): ConfigView {
  const ra = decodeRecord(a);
  const rb = decodeRecord(b);
  if (ra && rb) return ((rb.seq - ra.seq) | 0) > 0 ? { current: 1, record: rb } : { current: 0, record: ra };
  if (ra) return { current: 0, record: ra };
  if (rb) return { current: 1, record: rb };
  return { current: undefined, record: undefined };
}

/** Check one setting the way the kernel's config_set and DCUI do; an error message or undefined. */
export function checkSetting(key: string, value: string): string | undefined {
  if (!(key in DEFAULTS)) return `unknown setting ${key} (known: ${Object.keys(DEFAULTS).join(', ')})`;
  if (Buffer.byteLength(value) > VALUE_MAX) return `${key}: at most ${VALUE_MAX} bytes`;
  if (/[\x00-\x1f\x7f]/.test(value)) return `${key}: control characters are not allowed`;
  const ip = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
  if (key === 'net.mode' && value !== 'dhcp' && value !== 'static') return 'net.mode: dhcp or static';
  if (['net.address', 'net.netmask', 'net.gateway', 'net.dns'].includes(key) && value !== '' && !ip.test(value)) return `${key}: not an IPv4 address: ${value}`;
  if (key === 'hostname' && !/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(value)) return `hostname: 1 to 63 letters, digits, '-' and '.'`;
  if (key === 'root.password' && value !== '' && !/^\$6\$[^$]{0,16}\$[./0-9A-Za-z]{86}$/.test(value) && !/^\$6\$rounds=\d+\$[^$]{0,16}\$[./0-9A-Za-z]{86}$/.test(value)) {
    return 'root.password: a SHA-512 crypt hash ($6$...), e.g. from openssl passwd -6, or empty for "not set"';
  }
  return undefined;
}
