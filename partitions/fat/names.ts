// File names on FAT: which long names are legal, when a name needs VFAT long-name entries, and the
// deterministic 8.3 alias for those that do (fatgen103's basis-name + "~N" numeric-tail scheme).

import { LFN_MAX_UNITS, LONG_NAME_FORBIDDEN, SHORT_NAME_EXTRA_CHARS } from './spec.js';
import { FatError } from './types.js';

const SHORT_BASE_LEN = 8;
const SHORT_EXT_LEN = 3;
const SPACE = 0x20;

function isShortChar(c: string): boolean {
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || SHORT_NAME_EXTRA_CHARS.includes(c);
}

/** Throws unless `name` can be a long name on FAT (what Windows and Linux vfat accept and read back unchanged). */
export function checkLongName(name: string, path: string): void {
  if (name.length === 0) throw new FatError(`empty path component in '${path}'`, 'path');
  if (name === '.' || name === '..') throw new FatError(`'${name}' is not a valid name in '${path}'`, 'path');
  if (name.length > LFN_MAX_UNITS) {
    throw new FatError(`name in '${path}' is ${name.length} UTF-16 units long; FAT allows at most ${LFN_MAX_UNITS}`, 'path');
  }
  for (const c of name) {
    if (c.charCodeAt(0) < 0x20 || LONG_NAME_FORBIDDEN.includes(c)) {
      throw new FatError(`name in '${path}' contains ${JSON.stringify(c)}, which FAT long names may not contain (controls or ${LONG_NAME_FORBIDDEN})`, 'path');
    }
    const code = c.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) throw new FatError(`name in '${path}' contains an unpaired UTF-16 surrogate`, 'path');
  }
  // Windows and Linux strip trailing dots and spaces when creating, so such a name could not be read back.
  if (name.endsWith('.') || name.endsWith(' ')) {
    throw new FatError(`name in '${path}' ends with '${name.at(-1)}', which FAT drivers strip; it would not read back as written`, 'path');
  }
}

/** The 11-byte directory form of an 8.3 name ("README  TXT"), or undefined when `name` is not exactly a valid uppercase 8.3 name. */
export function exactShortName(name: string): Uint8Array | undefined {
  const dot = name.indexOf('.');
  const base = dot < 0 ? name : name.slice(0, dot);
  const ext = dot < 0 ? '' : name.slice(dot + 1);
  if (base.length < 1 || base.length > SHORT_BASE_LEN || ext.length > SHORT_EXT_LEN || (dot >= 0 && ext.length === 0)) return undefined;
  if (![...base, ...ext].every(isShortChar)) return undefined;
  return packShortName(base, ext);
}

function packShortName(base: string, ext: string): Uint8Array {
  const out = new Uint8Array(SHORT_BASE_LEN + SHORT_EXT_LEN).fill(SPACE);
  for (let i = 0; i < base.length; i++) out[i] = base.charCodeAt(i);
  for (let i = 0; i < ext.length; i++) out[SHORT_BASE_LEN + i] = ext.charCodeAt(i);
  return out;
}

/** "README  TXT" → "README.TXT", for messages and listings. */
export function shortNameToString(raw: Uint8Array): string {
  const text = (from: number, to: number): string => String.fromCharCode(...raw.subarray(from, to)).replace(/ +$/, '');
  const base = text(0, SHORT_BASE_LEN);
  const ext = text(SHORT_BASE_LEN, SHORT_BASE_LEN + SHORT_EXT_LEN);
  return ext ? `${base}.${ext}` : base;
}

function asciiUpper(s: string): string {
  return s.replace(/[a-z]/g, (c) => c.toUpperCase());
}

/** Upper-cases ASCII and replaces what an 8.3 name cannot hold (including all non-ASCII) with '_'. */
function toShortChars(s: string): string {
  let text = '';
  for (const c of asciiUpper(s)) text += isShortChar(c) ? c : '_';
  return text;
}

/**
 * Short names for the long names of one directory, in the order given. Names that already are valid
 * uppercase 8.3 names keep themselves; mixed-case names that fit 8.3 take their uppercase form (with an LFN
 * carrying the case); the rest get basis + "~N" with the smallest N not already taken in the directory.
 */
export function assignShortNames(names: readonly string[]): { short: Uint8Array; needsLfn: boolean }[] {
  const taken = new Set<string>();
  const result: ({ short: Uint8Array; needsLfn: boolean } | undefined)[] = names.map((n) => {
    const exact = exactShortName(n);
    if (!exact) return undefined;
    taken.add(shortNameToString(exact));
    return { short: exact, needsLfn: false };
  });
  names.forEach((name, i) => {
    if (result[i]) return;
    // Mixed case that fits 8.3 needs no tail: the LFN carries the case (what Linux vfat does).
    const fits = exactShortName(asciiUpper(name));
    if (fits && !taken.has(shortNameToString(fits))) {
      taken.add(shortNameToString(fits));
      result[i] = { short: fits, needsLfn: true };
      return;
    }
    // fatgen103 basis name: drop spaces and leading dots; the extension is what follows the last dot.
    const stripped = name.replace(/ /g, '').replace(/^\.+/, '');
    const lastDot = stripped.lastIndexOf('.');
    const baseText = toShortChars((lastDot < 0 ? stripped : stripped.slice(0, lastDot)).replace(/\./g, '')) || '_';
    const extText = toShortChars(lastDot < 0 ? '' : stripped.slice(lastDot + 1)).slice(0, SHORT_EXT_LEN);
    for (let n = 1; ; n++) {
      const tail = `~${n}`;
      if (tail.length >= SHORT_BASE_LEN) throw new FatError(`no free short name for '${name}' (all ~N aliases taken)`, 'path');
      const b = baseText.slice(0, SHORT_BASE_LEN - tail.length) + tail;
      const candidate = `${b}${extText ? '.' + extText : ''}`;
      if (!taken.has(candidate)) {
        taken.add(candidate);
        result[i] = { short: packShortName(b, extText), needsLfn: true };
        return;
      }
    }
  });
  return result as { short: Uint8Array; needsLfn: boolean }[];
}

/** The checksum of the 11-byte short name that every LFN entry of the same file carries. */
export function shortNameChecksum(short: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = ((((sum & 1) << 7) | (sum >> 1)) + short[i]!) & 0xff;
  return sum;
}

/** The case-insensitive key FAT drivers compare names by. */
export function nameKey(name: string): string {
  return name.toUpperCase();
}

/** The 11-character stored form of a volume label (uppercased, space padded); '' for no label. */
export function normalizeLabel(label: string): string {
  if (label === '') return '';
  const upper = asciiUpper(label);
  if (upper.length > 11) throw new FatError(`volume label '${label}' is ${upper.length} characters; at most 11`, 'label');
  if (upper.startsWith(' ')) throw new FatError(`volume label '${label}' starts with a space, which FAT does not allow`, 'label');
  for (const c of upper) {
    if (c !== ' ' && !isShortChar(c)) {
      throw new FatError(`volume label '${label}' contains ${JSON.stringify(c)}; labels may hold A-Z, 0-9, space and ${SHORT_NAME_EXTRA_CHARS}`, 'label');
    }
  }
  return upper.padEnd(11, ' ');
}
