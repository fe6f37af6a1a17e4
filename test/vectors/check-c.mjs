// Runs every case of the shared vectors in this directory against the C side (test/c/loader-host.c
// over common/, built here with ASan and UBSan) and prints each disagreement; exits 1 on any.
// The TypeScript twins are held to the same files by their own tests. Usage, from the repository:
//   node test/vectors/check-c.mjs
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';

const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'bankforge-vectors-'));
const bin = join(dir, 'loader-host');
execFileSync('cc', ['-std=c11', '-O1', '-g', '-Wall', '-Wextra', '-Werror', '-Wno-format', '-fsanitize=address,undefined',
  '-fno-sanitize-recover=all', `-I${root}common`, `-I${root}bootloader`, '-o', bin,
  ...['test/c/loader-host.c', 'common/gpt.c', 'common/bootcfg.c', 'common/hostcfg.c', 'bootloader/elf.c', 'common/fmt.c',
    'common/crc32.c', 'common/bankstate.c', 'common/sha256.c'].map((f) => root + f)], { stdio: 'inherit' });

const vectors = (name) => JSON.parse(readFileSync(join(root, 'test', 'vectors', name), 'utf8'));
let n = 0, failed = 0, files = 0;
const file = (bytes) => { const p = join(dir, `in-${files++}`); writeFileSync(p, bytes); return p; };
const input = (c) => (c.hex !== undefined ? Buffer.from(c.hex, 'hex') : Buffer.from(c.text, 'utf8'));
const ask = (args) => JSON.parse(execFileSync(bin, args, { encoding: 'latin1' }));
function check(what, got, want) {
  n++;
  if (!isDeepStrictEqual(got, want)) {
    failed++;
    console.log(`FAIL ${what}\n  want ${JSON.stringify(want)}\n  got  ${JSON.stringify(got)}`);
  }
}
const expected = (c, ok) => (c.error !== undefined ? { error: c.error } : ok);

for (const c of vectors('bootcfg.json').cases) check(`bootcfg: ${c.name}`, ask(['bootcfg', file(input(c))]), expected(c, c.expect));
for (const c of vectors('sha256sums.json').cases) {
  const names = Object.keys(c.lookup ?? {});
  const got = ask(['sums', file(input(c)), ...names]);
  if (got.error === undefined) delete got.count;
  check(`sums: ${c.name}`, got, expected(c, { files: c.files, lookup: c.lookup ?? {} }));
}
for (const c of vectors('host-settings.json').cases) {
  // argv carries the value as UTF-8 bytes, as the vectors say.
  check(`setting ${c.key}=${JSON.stringify(c.value)}${c.name ? ` (${c.name})` : ''}`, ask(['setting', c.key, c.value]), expected(c, { ok: true }));
}
const rec = vectors('config-record.json');
for (const c of rec.decode) {
  check(`record-decode: ${c.name}`, ask(['record-decode', file(Buffer.from(c.hex, 'hex'))]),
    expected(c, { seq: c.seq, text: c.text, skipped: c.skipped, settings: c.settings }));
}
for (const c of rec.encode) {
  check(`record-encode: ${c.name}`, ask(['record-encode', String(c.seq), file(Buffer.from(c.text, 'utf8'))]), expected(c, { hex: c.hex }));
  if (c.hex) check(`record-encode round trip: ${c.name}`, ask(['record-decode', file(Buffer.from(c.hex, 'hex'))]).settings, c.settings);
}
const slot = (h) => (h === '' ? Buffer.alloc(4096) : Buffer.from(h, 'hex'));
for (const c of rec.slots) {
  const got = ask(['slots', file(slot(c.a)), file(slot(c.b))]);
  check(`slots: ${c.name}`, got.current === null ? got : { current: got.current, seq: got.seq, hostname: got.settings.hostname },
    c.current === null ? { current: null } : { current: c.current, seq: c.seq, hostname: c.hostname });
}
rmSync(dir, { recursive: true, force: true });
console.log(`${n - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
