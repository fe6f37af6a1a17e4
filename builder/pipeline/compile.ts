// Compiles our two C programs with clang and lld: the UEFI loader (bootloader/ + common/, a
// PE32+ EFI application) and the kernel (kernel/ + common/, a freestanding ELF64). Warnings are
// errors; the compiler's output is shown when it fails. Results are cached by a hash of the
// sources, the flags and the compiler binaries, so an unchanged tree is never recompiled.

import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { homedir, cpus } from 'node:os';
import { delimiter, join } from 'node:path';
import { BankforgeError } from '../../support/errors.js';
import { PACKAGE_ROOT } from '../../support/package-info.js';
import { partialPath } from '../../support/temp-path.js';

const COMMON = ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-ffreestanding', '-fno-stack-protector'];

const LOADER_FLAGS = [...COMMON, '-target', 'x86_64-unknown-windows', '-fshort-wchar', '-mno-red-zone'];
const LOADER_LINK = ['-nostdlib', '-fuse-ld=lld-link', '-Wl,-entry:efi_main', '-Wl,-subsystem:efi_application'];

/** The kernel's compiler flags; exported for the test kernel the loader's tests boot. */
export const KERNEL_FLAGS = [...COMMON, '-target', 'x86_64-unknown-none-elf', '-g', '-nostdlib', '-mno-red-zone', '-mno-mmx', '-mno-sse',
  '-mno-sse2', '-mgeneral-regs-only', '-fno-pic', '-fno-pie', '-mcmodel=small', '-fno-omit-frame-pointer'];
/** ld.lld's options for the kernel; its linker script follows as -T. */
export const KERNEL_LINK = ['-nostdlib', '-static', '-no-pie'];

/** Where compiled programs are cached: $BANKFORGE_CACHE, else $XDG_CACHE_HOME/bankforge, else ~/.cache/bankforge. */
export function cacheDir(): string {
  return process.env.BANKFORGE_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'bankforge');
}

export interface Compiled { path: string; cached: boolean }

export async function sourcesOf(dirs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const d of dirs) {
    for (const f of (await readdir(join(PACKAGE_ROOT, d))).sort()) {
      if (/\.(c|S|h|ld)$/.test(f)) out.push(join(d, f));
    }
  }
  return out;
}

/**
 * Which `name` on the PATH compiles, as part of the cache key: its real path, size and mtime.
 * A stat instead of `name --version`, so a cache hit spawns no process at all (a build that
 * finds everything cached should not pay for four compiler start-ups).
 */
export async function tool(name: string, pkg: string): Promise<string> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      const real = await realpath(join(dir, name));
      const st = await stat(real);
      if (st.isFile() && (st.mode & 0o111) !== 0) return `${real} ${st.size} ${st.mtimeMs}`;
    } catch {
      // not in this directory
    }
  }
  throw new BankforgeError(`${name} not found: install the Debian package ${pkg} (sh scripts/setup.sh does)`);
}

export async function keyOf(kind: string, files: string[], flags: string[], versions: string[]): Promise<string> {
  const h = createHash('sha256').update(`${kind}\0${flags.join(' ')}\0${versions.join('\0')}\0`);
  for (const f of files) h.update(`${f}\0`).update(await readFile(join(PACKAGE_ROOT, f))).update('\0');
  return h.digest('hex').slice(0, 24);
}

/** Run `produce` into a fresh directory and move it into the cache only when it succeeded. */
export async function cached(kind: string, key: string, output: string, produce: (dir: string) => Promise<void>): Promise<Compiled> {
  const dir = join(cacheDir(), `${kind}-${key}`);
  const path = join(dir, output);
  if (await stat(path).then(() => true, () => false)) return { path, cached: true };
  // One directory per call: two builds of one uncached program in one process must not share it.
  const tmp = partialPath(dir);
  await mkdir(tmp, { recursive: true });
  try {
    await produce(tmp);
    await rename(tmp, dir).catch(async (e: NodeJS.ErrnoException) => {
      // Another build filled the same cache entry meanwhile: same key, same bytes.
      if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
      await rm(tmp, { recursive: true, force: true });
    });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return { path, cached: false };
}

/** Resolves with the command's messages (none, when all is well). */
export async function run(what: string, cmd: string, args: string[]): Promise<string> {
  // execa only when something is compiled: loading it is a noticeable part of a cached build.
  const { execa } = await import('execa');
  const r = await execa(cmd, args, { cwd: PACKAGE_ROOT, reject: false, all: true });
  if (r.exitCode !== 0) throw new BankforgeError(`compiling ${what} failed (${cmd} exited ${r.exitCode}):\n${r.all}`);
  return r.all ?? '';
}

/** bootloader/*.c + common/*.c -> BOOTX64.EFI */
export async function compileLoader(): Promise<Compiled> {
  const files = await sourcesOf(['bootloader', 'common']);
  const versions = [await tool('clang', 'clang'), await tool('lld-link', 'lld')];
  const key = await keyOf('loader', files, [...LOADER_FLAGS, ...LOADER_LINK], versions);
  return cached('loader', key, 'BOOTX64.EFI', async (dir) => {
    const c = files.filter((f) => f.endsWith('.c'));
    await run('the loader', 'clang', [...LOADER_FLAGS, '-Icommon', ...LOADER_LINK, '-o', join(dir, 'BOOTX64.EFI'), ...c]);
  });
}

/** kernel/*.c, kernel/*.S + common/*.c -> kernel.elf (with debug info), linked by kernel/kernel.ld */
export async function compileKernel(): Promise<Compiled> {
  const files = await sourcesOf(['kernel', 'common']);
  const versions = [await tool('clang', 'clang'), await tool('ld.lld', 'lld')];
  const key = await keyOf('kernel', files, KERNEL_FLAGS, versions);
  return cached('kernel', key, 'kernel.elf', async (dir) => { await buildKernel(dir, files); });
}

/**
 * compileKernel's build without the cache: `files` (default: the kernel's sources) compiled and
 * linked into `dir`/kernel.elf. Resolves with what clang and ld.lld printed, which is nothing
 * when all is well (test/kernel checks that).
 */
export async function buildKernel(dir: string, files?: string[]): Promise<string> {
  const units = (files ?? await sourcesOf(['kernel', 'common'])).filter((f) => /\.(c|S)$/.test(f));
  const objects = units.map((f) => join(dir, `${f.replace(/[/.]/g, '_')}.o`));
  const messages: string[] = [];
  // One clang per unit, as many at once as there are cores.
  let next = 0;
  const worker = async () => {
    while (next < units.length) {
      const i = next++;
      // Debug info names sources relative to the package, so the ELF (cached by content, shared by
      // every checkout) does not depend on where this checkout happens to live.
      messages[i] = await run(`the kernel (${units[i]})`, 'clang', [...KERNEL_FLAGS, `-fdebug-prefix-map=${PACKAGE_ROOT}=.`, '-Icommon', '-Ikernel', '-c', units[i]!, '-o', objects[i]!]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, cpus().length) }, worker));
  messages.push(await run('the kernel (link)', 'ld.lld', [...KERNEL_LINK, '-T', 'kernel/kernel.ld', '-o', join(dir, 'kernel.elf'), ...objects]));
  return messages.filter(Boolean).join('\n');
}
