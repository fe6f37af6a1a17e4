// Compiles common/crc32.c, the CRC-32 of the loader and the kernel, to WebAssembly for the
// TypeScript side (partitions/crc32.ts), and writes its bytes, base64, as
// dist/partitions/crc32-wasm.js: one CRC-32 implementation for all three, and none that a short
// command has to run in V8's interpreter (docs/performance.md, "Start-up").
// Runs after tsc and before the bundle step, which bundles the module like any other
// (npm run build, scripts/setup.sh and scripts/prepack.sh run it). Needs clang and wasm-ld (lld);
// the installed package does not: it ships dist/.
// The module exports bf_crc32, its memory, and __heap_base, where the memory free for input starts.
// --strip-all drops the names and clang's "producers" section, so the bytes depend on the source
// and the compiler's code, not on where or by whom it was built.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'partitions', 'crc32-wasm.js');
const FLAGS = [
  '--target=wasm32', '-O2', '-ffreestanding', '-nostdlib', '-Icommon',
  '-Wl,--no-entry', '-Wl,--export=bf_crc32', '-Wl,--export=__heap_base', '-Wl,--strip-all',
  // bf_crc32 keeps nothing on a stack; the default 64 KiB would only double the memory.
  '-Wl,-z,stack-size=4096',
];

const dir = mkdtempSync(join(tmpdir(), 'bankforge-crc32-wasm-'));
try {
  const wasm = join(dir, 'crc32.wasm');
  try {
    execFileSync('clang', [...FLAGS, '-o', wasm, 'common/crc32.c'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (e) {
    const why = e.code === 'ENOENT' ? 'clang is not installed (sh scripts/setup.sh installs it)' : `clang exited ${e.status}`;
    throw new Error(`scripts/crc32-wasm.mjs: compiling common/crc32.c to WebAssembly failed: ${why}`);
  }
  const bytes = readFileSync(wasm);
  // What partitions/crc32.ts relies on, checked here rather than found out at run time: no imports
  // (it must instantiate with none), these exports, and the CRC-32 check value.
  const module = new WebAssembly.Module(bytes);
  const imports = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`);
  if (imports.length > 0) throw new Error(`common/crc32.c as WebAssembly imports ${imports.join(', ')}; expected nothing`);
  const exports = WebAssembly.Module.exports(module).map((e) => `${e.kind} ${e.name}`).sort().join(', ');
  const expected = 'function bf_crc32, global __heap_base, memory memory';
  if (exports !== expected) throw new Error(`common/crc32.c as WebAssembly exports ${exports}; expected ${expected}`);
  const { memory, bf_crc32, __heap_base } = new WebAssembly.Instance(module).exports;
  new Uint8Array(memory.buffer).set(Buffer.from('123456789', 'latin1'), __heap_base.value);
  const check = bf_crc32(0, __heap_base.value, 9) >>> 0;
  if (check !== 0xcbf43926) throw new Error(`common/crc32.c as WebAssembly gives 0x${check.toString(16)} for "123456789"; expected 0xcbf43926`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`,
    '// Written by scripts/crc32-wasm.mjs: common/crc32.c compiled to WebAssembly, base64.\n' +
    `export const CRC32_WASM = '${bytes.toString('base64')}';\n`);
  renameSync(`${out}.tmp`, out);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
