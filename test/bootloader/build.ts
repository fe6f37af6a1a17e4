// Builds for the loader's tests: the host program over the loader's plain-C parsers (with
// ASan/UBSan when the compiler has them), the loader itself with the pipeline's exact command,
// and the test kernel in test/fixtures/test-kernel.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { mustRun, repoRoot, tool } from '../helpers/tools.js';

const C_FLAGS = ['-std=c11', '-O1', '-g', '-Wall', '-Wextra', '-Werror', '-Wno-format',
  `-I${join(repoRoot, 'common')}`, `-I${join(repoRoot, 'bootloader')}`];
const HOST_SOURCES = ['test/c/loader-host.c', 'bootloader/gpt.c', 'bootloader/bootcfg.c', 'bootloader/elf.c',
  'bootloader/fmt.c', 'common/crc32.c', 'common/bankstate.c', 'common/sha256.c'].map((f) => join(repoRoot, f));
const SANITIZE = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all'];

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

/** BOOTX64.EFI from bootloader/*.c and common/*.c, with the pipeline's command line. */
export async function buildLoader(out: string): Promise<void> {
  const sources: string[] = [];
  for (const d of ['bootloader', 'common'])
    for (const f of (await readdir(join(repoRoot, d))).sort()) if (f.endsWith('.c')) sources.push(join(d, f));
  await mustRun('sh', ['-c', `cd "${repoRoot}" && clang -target x86_64-unknown-windows -std=c11 -O2 -Wall -Wextra -Werror -ffreestanding -fshort-wchar -mno-red-zone -fno-stack-protector -nostdlib -Icommon -fuse-ld=lld-link -Wl,-entry:efi_main -Wl,-subsystem:efi_application -o "${out}" ${sources.join(' ')}`]);
}

/** The test kernel: prints its boot info on COM1 and halts. */
export async function buildTestKernel(dir: string): Promise<string> {
  const cflags = ['-target', 'x86_64-unknown-none-elf', '-ffreestanding', '-nostdlib', '-mno-red-zone', '-mno-sse',
    '-fno-pic', '-fno-pie', '-fno-stack-protector', '-O2', '-Wall', '-Werror', `-I${join(repoRoot, 'common')}`,
    `-I${join(repoRoot, 'bootloader')}`, '-c'];
  const k = join(repoRoot, 'test', 'fixtures', 'test-kernel');
  await mustRun('clang', [...cflags, join(k, 'kernel.c'), '-o', join(dir, 'kernel.o')]);
  await mustRun('clang', [...cflags, join(repoRoot, 'bootloader', 'fmt.c'), '-o', join(dir, 'fmt.o')]);
  const elf = join(dir, 'kernel.elf');
  await mustRun('ld.lld', ['-nostdlib', '-static', '-T', join(k, 'kernel.ld'), '-o', elf, join(dir, 'kernel.o'), join(dir, 'fmt.o')]);
  return elf;
}
