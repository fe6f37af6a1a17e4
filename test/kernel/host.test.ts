// The kernel's pure parts, run on the host: the printf formatter it shares with the loader
// (common/fmt.c, against the C library's snprintf), kernel option parsing, the page allocator
// over a fake memory map, and the font.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { cachedBuild } from '../helpers/c-host.js';
import { mustRun, repoRoot, tool } from '../helpers/tools.js';

/** test/kernel/host.c around the units under test. Those, and common/bfstring.c under them, get
 * their libc names renamed, so that they run our memcpy and strlen rather than the C library's. */
async function compileHost(): Promise<string> {
  const rename = ['memcpy', 'memmove', 'memset', 'memcmp', 'strlen', 'strcmp'].map((f) => `-D${f}=k${f}`);
  const flags = ['-std=c11', '-O2', '-g', '-Wall', '-Wextra', '-Werror'];
  const units = ['kernel/libc.c', 'kernel/cmdline.c', 'kernel/mem.c', 'kernel/font.c', 'common/fmt.c', 'common/bfstring.c'];
  return cachedBuild('kernel-host', [...flags, ...rename, ...units], ['clang'], async (dir) => {
    const objects = units.map((u) => join(dir, `${u.replace(/[/.]/g, '_')}.o`));
    await Promise.all(units.map((u, i) =>
      mustRun('clang', [...flags, '-ffreestanding', '-fno-builtin', ...rename, '-c', join(repoRoot, u), '-o', objects[i]!])));
    await mustRun('clang', [...flags, '-D_GNU_SOURCE', '-o', join(dir, 'kernel-host'), join(repoRoot, 'test/kernel/host.c'), ...objects]);
  });
}

// At the top level, not in before(): uvu reports nothing when a before hook throws.
const exe = await compileHost();

const FORMATS: Array<[string, string, string]> = [
  ['%d', 'd', '0'], ['%d', 'd', '-42'], ['%i', 'd', '2147483647'], ['%d', 'd', '-2147483648'],
  ['[%5d]', 'd', '42'], ['[%-5d]', 'd', '42'], ['[%05d]', 'd', '-42'], ['[%.3d]', 'd', '7'], ['[%.0d]', 'd', '0'],
  ['[%8.3d]', 'd', '-7'], ['[%08.3d]', 'd', '7'], ['%u', 'u', '4294967295'], ['%x', 'u', '255'], ['%X', 'u', '3735928559'],
  ['%08x', 'u', '48879'], ['%hd', 'd', '70000'], ['%hhu', 'd', '300'], ['%hhd', 'd', '200'],
  ['%lld', 'll', '-9223372036854775808'], ['%llu', 'ull', '18446744073709551615'], ['%llx', 'ull', '0xdeadbeefcafef00d'],
  ['%016llx', 'ull', '0x1000000'], ['%lu', 'ull', '123456789012'], ['%ld', 'll', '-5'], ['%zu', 'ull', '4096'],
  ['%lx', 'ull', '0'], ['%p', 'p', '0x1000000'], ['[%20p]', 'p', '0xabc'], ['[%-20p]', 'p', '0xabc'],
  ['%s', 's', 'hello'], ['[%10s]', 's', 'hi'], ['[%-10s]', 's', 'hi'], ['[%.3s]', 's', 'abcdef'], ['[%.0s]', 's', 'x'],
  ['[%5.2s]', 's', 'abc'], ['%s', 's', ''], ['[%c]', 'c', 'A'], ['[%3c]', 'c', 'B'], ['[%-3c]', 'c', 'C'],
  ['100%%', 'none', ''], ['a%%b%%c', 'none', ''], ['[%*s]', 'star', '8'], ['[%-*s]', 'star', '8'], ['[%*s]', 'star', '-8'],
  ['[%.*s]', 'star', '3'], ['no conversions', 'none', ''],
  // As the loader and the kernel write them.
  ['%02x', 'u', '7'], ['%04x', 'u', '0xbeef'], ['%016lx', 'ull', '0xabc'], ['%04lx', 'ull', '0x1f'], ['%llX', 'ull', '0xabcdef'],
  ['[%-8u]', 'u', '42'], ['%zd', 'll', '-4096'], ['%zx', 'ull', '0xfff'],
];

test('bf_fmt (common/fmt.c) formats like the C library', async () => {
  const input = FORMATS.map(([f, t, v]) => `${f}\t${t}\t${v}`).join('\n') + '\n';
  const r = await tool(exe, ['fmt'], input);
  assert.is(r.exitCode, 0, r.all);
  const lines = r.stdout.trimEnd().split('\n');
  assert.is(lines.length, FORMATS.length);
  lines.forEach((line, i) => {
    const [ours, host, ret, hret] = line.split('\t');
    assert.is(ours, host, `format ${JSON.stringify(FORMATS[i])}`);
    assert.is(ret, hret, `return value of ${JSON.stringify(FORMATS[i])}`);
  });
});

test('ksnprintf (bf_vfmt under the kernel\'s name) truncates like snprintf: NUL-terminated, returns the full length, size 0 writes nothing', async () => {
  const r = await tool(exe, ['trunc']);
  assert.is(r.exitCode, 0, r.all);
  const rows = r.stdout.trimEnd().split('\n').map((l) => l.split('\t'));
  const full = 'abc-42';
  for (const [size, got, ret] of rows) {
    const n = Number(size);
    assert.is(ret, '6');
    if (n === 0) assert.is(got, '#'.repeat(15), 'size 0 must not write');
    else assert.is(got, full.slice(0, n - 1), `size ${n}`);
  }
});

async function opts(line: string, ...keys: string[]): Promise<string[]> {
  const r = await tool(exe, ['cmdline', line, ...keys]);
  assert.is(r.exitCode, 0, r.all);
  return r.stdout.trimEnd().split('\n');
}

test('cmdline: key=value words, bare keys, quotes, last one wins, absent keys', async () => {
  assert.equal(await opts('panic.delay=3 test.panic=before-ready', 'panic.delay', 'test.panic', 'panic.wait'),
    ['panic.delay=3', 'test.panic=before-ready', 'panic.wait absent']);
  assert.equal(await opts('  a=1\tb=2   ', 'a', 'b'), ['a=1', 'b=2']);
  assert.equal(await opts('flag x= y=a=b', 'flag', 'x', 'y'), ['flag=', 'x=', 'y=a=b']);
  assert.equal(await opts('title="my box" "q"uoted=1', 'title', 'quoted'), ['title=my box', 'quoted=1']);
  assert.equal(await opts('a=1 a=2', 'a'), ['a=2']);
  assert.equal(await opts('', 'a'), ['a absent']);
});

test('cmdline: a word without a key is ignored with a message', async () => {
  assert.equal(await opts('=x a=1', 'a'), ['log: cmdline: ignoring "=x": no key', 'a=1']);
});

test('cmdline: overlong options are cut at a word with a message, not overflowed', async () => {
  const words = Array.from({ length: 100 }, (_, i) => `k${i}=${'v'.repeat(20)}`).join(' ');
  const out = await opts(words, 'k0', 'k40', 'k99');
  assert.ok(out.some((l) => l.startsWith('log: cmdline: options too long')), out.join('\n'));
  assert.ok(out.includes(`k0=${'v'.repeat(20)}`));
  assert.ok(out.includes('k99 absent'));
  const many = Array.from({ length: 70 }, (_, i) => `k${i}`).join(' ');
  const out2 = await opts(many, 'k63', 'k64');
  assert.ok(out2.includes('k63='), out2.join('\n'));
  assert.ok(out2.includes('k64 absent'), out2.join('\n'));
});

test('cmdline_uint: decimal values; junk, empty and overflow give the default with a message', async () => {
  const uint = async (line: string, def = '5') => (await tool(exe, ['uint', line, 'panic.delay', def])).stdout.trimEnd().split('\n');
  assert.equal(await uint('panic.delay=0'), ['0']);
  assert.equal(await uint('panic.delay=120'), ['120']);
  assert.equal(await uint('other=1'), ['5']);
  assert.equal(await uint('panic.delay=18446744073709551615'), ['18446744073709551615']);
  for (const bad of ['abc', '3s', '', '-1', '18446744073709551616']) {
    const out = await uint(`panic.delay=${bad}`);
    assert.is(out.at(-1), '5', bad);
    assert.match(out[0]!, /not a decimal number; using 5/, bad);
  }
});

test('page allocator: every usable page once, none reserved, zeroed, contiguous runs, double free panics', async () => {
  const r = await tool(exe, ['mem']);
  assert.is(r.exitCode, 70, r.all);
  const out = r.stdout;
  assert.match(out, /^ok single pages 766$/m, out);
  assert.match(out, /^ok run of 300$/m, out);
  assert.match(out, /^ok no second run$/m, out);
  assert.match(out, /^ok freed$/m, out);
  assert.match(out, /^panic: page_free: double free of page [0-9a-f]+$/m, out);
  assert.not.match(out, /FAIL/);
});

test('font: 95 glyphs for ASCII 32..126, all different, only the space blank', async () => {
  const r = await tool(exe, ['font']);
  assert.is(r.stdout.trim(), 'glyphs 95 distinct 95 blank 1');
});

test.run();
