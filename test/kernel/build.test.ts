// The kernel builds warning-free with the project's flags into the ELF shape the loader takes
// (docs/boot-protocol.md, "The kernel image"): ELF64 x86-64 ET_EXEC, entry in the image,
// PT_LOAD segments with p_paddr == p_vaddr starting at BF_KERNEL_BASE (16 MiB). The build is
// the pipeline's own (compileKernel, builder/pipeline/compile.ts) into an empty cache, so that
// its messages are seen; a second call is then served from the cache (the loader's cache is
// checked in test/builder/pipeline/compile.test.ts: one uncached kernel build in the suite, not two).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { scratch, mustRun } from '../helpers/tools.js';
import { compileKernel, type Compiled } from '../../builder/pipeline/compile.js';

let dir: string;
let cleanup: () => Promise<void>;
let build: { elf: string; ok: boolean; output: string; compiled?: Compiled };

const outerCache = process.env.BANKFORGE_CACHE;

test.before(async () => {
  ({ dir, cleanup } = await scratch('bankforge-kernel-'));
  process.env.BANKFORGE_CACHE = dir;
  // A failure is kept for the first test to report: uvu says nothing when a before hook throws.
  build = await compileKernel().then((c) => ({ elf: c.path, ok: true, output: c.messages ?? '', compiled: c }), (e: Error) => ({ elf: '', ok: false, output: e.message }));
});
test.after(async () => {
  if (outerCache === undefined) delete process.env.BANKFORGE_CACHE;
  else process.env.BANKFORGE_CACHE = outerCache;
  await cleanup();
});

test('the kernel compiles and links with no diagnostics at all', () => {
  assert.ok(build.ok, build.output);
  assert.is(build.compiled!.cached, false, 'an empty cache, yet nothing was compiled (a prebuilt/ left by npm pack in this checkout? remove it)');
  assert.is(build.output.trim(), '', 'clang and ld.lld printed something');
});

test('an unchanged tree is then served from the cache, compiling nothing', async () => {
  assert.ok(build.elf.startsWith(dir), build.elf);
  assert.equal(await compileKernel(), { path: build.elf, cached: true });
});

test('readelf: ELF64 x86-64 ET_EXEC entered at _start', async () => {
  const h = await mustRun('readelf', ['-hW', build.elf]);
  assert.match(h, /Class:\s+ELF64/);
  assert.match(h, /Type:\s+EXEC/);
  assert.match(h, /Machine:\s+Advanced Micro Devices X86-64/);
  const entry = BigInt(/Entry point address:\s+(0x[0-9a-f]+)/.exec(h)![1]!);
  const syms = await mustRun('llvm-objdump', ['-t', build.elf]);
  const start = /^([0-9a-f]{16}) .* _start$/m.exec(syms);
  assert.ok(start, syms);
  assert.is(entry, BigInt(`0x${start![1]}`));
});

test('readelf: PT_LOAD segments at 0x1000000 upwards, p_paddr == p_vaddr, nothing else loaded', async () => {
  const l = await mustRun('readelf', ['-lW', build.elf]);
  const loads = [...l.matchAll(/^\s*LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\S+(?: \S)*)\s+0x1000$/gm)];
  assert.ok(loads.length >= 1, l);
  assert.is(BigInt(loads[0]![2]!), 0x1000000n, 'first PT_LOAD at BF_KERNEL_BASE');
  for (const m of loads) {
    assert.is(m[2], m[3], `p_vaddr ${m[2]} != p_paddr ${m[3]}`);
    assert.ok(BigInt(m[2]!) % 4096n === 0n, 'page-aligned segment');
  }
  // Only LOAD segments that the loader must honour; no INTERP, no DYNAMIC, no TLS.
  assert.not.match(l, /INTERP|DYNAMIC|TLS/);
  // No writable and executable segment.
  for (const m of loads) assert.not.match(m[6]!, /W.*E|WE/, `segment flags ${m[6]}`);
});

test('the kernel uses no SSE registers (the loader hands over no FPU state to save)', async () => {
  const d = await mustRun('llvm-objdump', ['-d', '--no-show-raw-insn', build.elf]);
  assert.not.match(d, /%xmm|%ymm|%zmm/);
});
test.run();
