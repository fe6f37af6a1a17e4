// The one reader of untrusted JSON: limits checked before parsing, only own keys.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseUntrustedJson, readUntrustedJsonFile, JsonInputError } from '../../support/untrusted-json.js';
import { BankforgeError, EXIT } from '../../support/errors.js';
import { FileInputError } from '../../support/regular-file.js';
import { scratch } from '../helpers/tools.js';
import { FUZZ_SEED, rng } from '../helpers/fuzz.js';

const throwsInput = (f: () => unknown, re: RegExp) => {
  try {
    f();
  } catch (e) {
    assert.instance(e, JsonInputError);
    assert.is((e as BankforgeError).exitCode, EXIT.input);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable('expected a JsonInputError');
};

test('objects have only their own keys: no prototype to find "constructor" or "toString" in', () => {
  const v = parseUntrustedJson('{"a": {"b": 1}, "list": [{"c": 2}]}', 'x') as Record<string, Record<string, unknown>>;
  assert.is(Object.getPrototypeOf(v), null);
  assert.is(Object.getPrototypeOf(v.a), null);
  assert.is(Object.getPrototypeOf((v.list as unknown as Record<string, unknown>[])[0]), null);
  assert.is(v.constructor, undefined);
  assert.is(v.toString, undefined);
});

test('a "__proto__" key stays a key and changes no prototype', () => {
  const v = parseUntrustedJson('{"__proto__": {"polluted": true}}', 'x') as Record<string, unknown>;
  assert.is(Object.getPrototypeOf(v), null);
  assert.equal(Object.keys(v), ['__proto__']);
  assert.is((v as { polluted?: boolean }).polluted, undefined);
});

test('nesting past the limit is bad input at a byte offset, not a stack overflow', () => {
  throwsInput(() => parseUntrustedJson('['.repeat(100_000) + ']'.repeat(100_000), 'deep.json'), /^deep\.json: nested deeper than 32 levels at byte 32$/);
  throwsInput(() => parseUntrustedJson('{"a":'.repeat(40) + '1' + '}'.repeat(40), 'm', { maxBytes: 1000, maxDepth: 4, baseOffset: 24 }), /m: nested deeper than 4 levels at byte 44/);
});

test('brackets inside strings (escaped quotes too) do not count as nesting', () => {
  const v = parseUntrustedJson(`{"s": "${'[{'.repeat(50)}\\"${'['.repeat(50)}"}`, 'x', { maxBytes: 1000, maxDepth: 1 }) as Record<string, string>;
  assert.is(v.s!.length, 151);
});

test('a quote after an even run of backslashes ends the string; an unterminated one hides nothing', () => {
  // The JSON string "x\\" is an x and an escaped backslash: the quote after them closes it, so the
  // brackets that follow nest; with a third backslash that quote is escaped instead.
  throwsInput(() => parseUntrustedJson('{"s": "x\\\\", "t": [[1]]}', 'e', { maxBytes: 1000, maxDepth: 2 }), /e: nested deeper than 2 levels at byte 19/);
  throwsInput(() => parseUntrustedJson('{"s": "x\\\\\\", "t": [[1]]}', 'o', { maxBytes: 1000, maxDepth: 2 }), /o: not valid JSON: /);
  throwsInput(() => parseUntrustedJson('["[[[[', 'u', { maxBytes: 1000, maxDepth: 2 }), /u: not valid JSON: /);
});

test('the depth found skipping strings is the byte-by-byte scan\'s, on random brackets, quotes and backslashes', () => {
  // The scan before strings were skipped with indexOf: every byte, a backslash escaping the next.
  const reference = (b: Buffer, max: number): number => {
    let depth = 0, inString = false;
    for (let i = 0; i < b.length; i++) {
      const c = b[i]!;
      if (inString) {
        if (c === 0x5c) i++;
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) inString = true;
      else if (c === 0x5b || c === 0x7b) { if (++depth > max) return i; } else if (c === 0x5d || c === 0x7d) depth--;
    }
    return -1;
  };
  const next = rng(FUZZ_SEED);
  const alphabet = Buffer.from('"\\[]{}a ,:1');
  for (let round = 0; round < 3000; round++) {
    const bytes = Buffer.from(Array.from({ length: next() % 64 }, () => alphabet[next() % alphabet.length]!));
    const deepAt = reference(bytes, 3);
    let message = '';
    try {
      parseUntrustedJson(bytes, 'r', { maxBytes: 1000, maxDepth: 3 });
    } catch (e) {
      message = (e as Error).message;
    }
    const at = /nested deeper than 3 levels at byte (\d+)$/.exec(message)?.[1];
    assert.is(at === undefined ? -1 : Number(at), deepAt, `seed ${FUZZ_SEED}, round ${round}: ${JSON.stringify(bytes.toString('latin1'))}`);
  }
});

test('size is checked before parsing; invalid UTF-8 and invalid JSON are bad input', () => {
  throwsInput(() => parseUntrustedJson(`"${'a'.repeat(100)}"`, 'big', { maxBytes: 50, maxDepth: 4 }), /big: 102 bytes of JSON; at most 50 are accepted/);
  throwsInput(() => parseUntrustedJson(Buffer.from([0x22, 0xff, 0x22]), 'u'), /u: not valid UTF-8/);
  throwsInput(() => parseUntrustedJson('{"a": }', 'j'), /j: not valid JSON: /);
});

test('a file must be a regular file: a FIFO is refused at once, not waited on; a directory too', async () => {
  const { dir, cleanup } = await scratch();
  try {
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'ok.json'), '{"a": 1}');
    const t0 = Date.now();
    await readUntrustedJsonFile(join(dir, 'fifo')).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /not a regular file \(a FIFO\)/));
    assert.ok(Date.now() - t0 < 10_000, 'did not wait for a writer');   // a wait would be for ever; 10 s is for load
    await readUntrustedJsonFile(join(dir, 'sub')).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /not a regular file \(a directory\)|directory/));
    await readUntrustedJsonFile(join(dir, 'missing.json')).then(() => assert.unreachable(), (e: unknown) => assert.ok(e instanceof FileInputError && e.missing));
    const { value, bytes } = await readUntrustedJsonFile(join(dir, 'ok.json'));
    assert.equal({ ...(value as object) }, { a: 1 });
    assert.is(bytes.toString(), '{"a": 1}');
  } finally {
    await cleanup();
  }
});

test.run();
