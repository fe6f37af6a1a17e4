// Builds for the loader's tests: the host program over the loader's plain-C parsers (with
// ASan/UBSan when the compiler has them) and the test kernel in test/fixtures/test-kernel. The
// loader itself is the pipeline's (compileLoader in builder/pipeline/compile.ts).

import { join } from 'node:path';
import { KERNEL_FLAGS, KERNEL_LINK } from '../../builder/pipeline/compile.js';
import { mustRun, repoRoot, tool } from '../helpers/tools.js';

const C_FLAGS = ['-std=c11', '-O1', '-g', '-Wall', '-Wextra', '-Werror', '-Wno-format',
  `-I${join(repoRoot, 'common')}`, `-I${join(repoRoot, 'bootloader')}`];
const HOST_SOURCES = ['test/c/loader-host.c', 'common/gpt.c', 'common/bootcfg.c', 'common/hostcfg.c', 'bootloader/elf.c',
  'common/fmt.c', 'common/crc32.c', 'common/bankstate.c', 'common/sha256.c', 'common/i6300esb.c'].map((f) => join(repoRoot, f));
const SANITIZE = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all'];

/** A plain build of test/c/loader-host.c: a twelfth of the sanitized one's start-up, for many short runs. */
export async function buildPlainHost(dir: string): Promise<string> {
  const bin = join(dir, 'loader-host-plain');
  await mustRun('cc', [...C_FLAGS, '-o', bin, ...HOST_SOURCES]);
  return bin;
}

/** Compile test/c/loader-host.c; `sanitized` says whether ASan/UBSan are in. */
export async function buildHost(dir: string): Promise<{ bin: string; sanitized: boolean }> {
  const bin = join(dir, 'loader-host');
  const r = await tool('cc', [...C_FLAGS, ...SANITIZE, '-o', bin, ...HOST_SOURCES]);
  if (r.exitCode === 0) return { bin, sanitized: true };
  await mustRun('cc', [...C_FLAGS, '-o', bin, ...HOST_SOURCES]);
  return { bin, sanitized: false };
}

/** Run the host program; its stdout is one JSON object. */
export async function host(bin: string, args: string[]): Promise<any> {
  const r = await tool(bin, args);
  if (r.exitCode !== 0) throw new Error(`loader-host ${args.join(' ')} exited ${r.exitCode}:\n${r.all}`);
  return JSON.parse(r.stdout);
}

/** The test kernel, which prints its boot info on COM1 and halts: built as the kernel is, with the
 * C it shares, but without debug info (-S), since the ELF parser's fuzz test mutates its bytes. */
export async function buildTestKernel(dir: string): Promise<string> {
  const k = join(repoRoot, 'test', 'fixtures', 'test-kernel');
  const units = [join(k, 'kernel.c'), join(repoRoot, 'common', 'fmt.c'), join(repoRoot, 'common', 'bfstring.c')];
  const objects = units.map((_, i) => join(dir, `test-kernel-${i}.o`));
  await Promise.all(units.map((u, i) => mustRun('clang', [...KERNEL_FLAGS, `-I${join(repoRoot, 'common')}`, '-c', u, '-o', objects[i]!])));
  const elf = join(dir, 'kernel.elf');
  await mustRun('ld.lld', [...KERNEL_LINK, '-S', '-T', join(k, 'kernel.ld'), '-o', elf, ...objects]);
  return elf;
}
