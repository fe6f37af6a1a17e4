// The one reader of JSON that comes from a user or a file (layouts, bundle manifests, build
// manifests beside an image). JSON.parse alone is not safe on such input: a file of a million
// '[' overflows the stack (a RangeError, reported as an internal error), a huge file is read
// whole into memory, and the objects it returns inherit from Object.prototype, so a lookup of a
// user-chosen key ("constructor", "toString", "__proto__") finds something nobody wrote. Here
// the size is checked before anything is read, the nesting depth is checked on the bytes before
// parsing, and every object comes back with a null prototype: only its own keys exist.

import { BankforgeError } from './errors.js';
import { readRegularFile } from './regular-file.js';

export interface JsonLimits {
  /** Largest accepted input, in bytes. */
  maxBytes: number;
  /** Deepest accepted nesting of arrays and objects (the top level counts as 1). */
  maxDepth: number;
  /** Added to byte offsets in messages, when the JSON sits inside a larger file. */
  baseOffset?: number;
}

/** Every one of our JSON formats is a few levels deep and far below a megabyte. */
export const DEFAULT_JSON_LIMITS: JsonLimits = { maxBytes: 1 << 20, maxDepth: 32 };

/** Bad JSON input; `name` (a file, or "file: manifest at offset 24") starts the message. */
export class JsonInputError extends BankforgeError {}

/** Parses `input` under `limits`; objects have a null prototype. `name` says what it is in messages. */
export function parseUntrustedJson(input: Buffer | string, name: string, limits: JsonLimits = DEFAULT_JSON_LIMITS): unknown {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  if (bytes.length > limits.maxBytes) throw new JsonInputError(`${name}: ${bytes.length} bytes of JSON; at most ${limits.maxBytes} are accepted`);
  checkDepth(bytes, name, limits);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new JsonInputError(`${name}: not valid UTF-8`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new JsonInputError(`${name}: not valid JSON: ${(e as Error).message}`);
  }
  // Afterwards, not through a reviver: JSON.parse calls a reviver for every value, a digest in a
  // manifest's list too, and took 1-1.5 ms more for a 60 KB manifest on a command's first parse.
  // The recursion is as deep as the nesting, which checkDepth bounded.
  nullPrototypes(value);
  return value;
}

/**
 * Reads and parses a JSON file (a regular file within the size limit: support/regular-file.ts).
 * The bytes come back too, for a caller that records their hash.
 */
export async function readUntrustedJsonFile(path: string, limits: JsonLimits = DEFAULT_JSON_LIMITS, what = 'file'): Promise<{ value: unknown; bytes: Buffer }> {
  const bytes = await readRegularFile(path, limits.maxBytes, what);
  return { value: parseUntrustedJson(bytes, path, limits), bytes };
}

/**
 * Counts '[' and '{' outside strings. UTF-8 never hides an ASCII byte inside a multi-byte
 * character. A string is skipped with indexOf (memchr): byte by byte, a 60 KB manifest of
 * digests took ~2 ms on a command's first parse, in V8's interpreter.
 */
function checkDepth(bytes: Buffer, name: string, limits: JsonLimits): void {
  let depth = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x22) i = stringEnd(bytes, i);
    else if (b === 0x5b || b === 0x7b) {
      if (++depth > limits.maxDepth) throw new JsonInputError(`${name}: nested deeper than ${limits.maxDepth} levels at byte ${(limits.baseOffset ?? 0) + i}`);
    } else if (b === 0x5d || b === 0x7d) depth--;
  }
}

/**
 * The index of the quote that closes the string opened at `open` (one not escaped: an even
 * number of backslashes before it), or the last index when none does (JSON.parse then refuses
 * the text). Each backslash is counted once, for the quote that follows its run.
 */
function stringEnd(bytes: Buffer, open: number): number {
  for (let q = bytes.indexOf(0x22, open + 1); q >= 0; q = bytes.indexOf(0x22, q + 1)) {
    let slashes = 0;
    while (bytes[q - 1 - slashes] === 0x5c) slashes++;
    if (slashes % 2 === 0) return q;
  }
  return bytes.length - 1;
}

/**
 * Gives every object in `value` a null prototype, in place. An own "__proto__" key (JSON.parse
 * makes it an own data property) stays a plain key.
 */
function nullPrototypes(value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const v of value) if (v !== null && typeof v === 'object') nullPrototypes(v);
    return;
  }
  Object.setPrototypeOf(value, null);
  for (const k of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== null && typeof v === 'object') nullPrototypes(v);
  }
}
