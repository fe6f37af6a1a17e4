// Compiles our two C programs with clang and lld: the UEFI loader (bootloader/ + common/, a
// PE32+ EFI application) and the kernel (kernel/ + common/, a freestanding ELF64). Warnings are
// errors; the compiler's output is shown when it fails. Results are cached by a hash of the
// sources, the flags and the compiler binaries, so an unchanged tree is never recompiled.
// An installed package carries both programs prebuilt (builder/pipeline/prebuilt.ts): when the
// sources are the ones they were built from, they are used and no compiler is needed.
// Every compile maps the checkout's directory to "." (-ffile-prefix-map, and the debug
// compilation directory, which clang 14's assembler does not remap): the bytes do not depend on
// where the tree lives, which is also why the cache key need not name the directory.

import { createHash } from 'node:crypto';
import { closeSync, constants, existsSync, openSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { homedir, cpus } from 'node:os';
import { delimiter, join } from 'node:path';
import { BankforgeError } from '../../support/errors.js';
import { takeOfdLock } from '../../support/ofd-lock.js';
import { PACKAGE_ROOT } from '../../support/package-info.js';
import { partialPath } from '../../support/temp-path.js';
import { prebuiltFor, type ProgramKind } from './prebuilt.js';

const COMMON = ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-ffreestanding', '-fno-stack-protector'];

const LOADER_FLAGS = [...COMMON, '-target', 'x86_64-unknown-windows', '-fshort-wchar', '-mno-red-zone'];
// -Brepro: lld-link otherwise stamps the PE header's TimeDateStamp with the time of the link, so
// two compiles of one tree a second apart differ; with it the stamp is a hash of the output.
const LOADER_LINK = ['-nostdlib', '-fuse-ld=lld-link', '-Wl,-entry:efi_main', '-Wl,-subsystem:efi_application', '-Wl,-Brepro'];

/** The kernel's compiler flags; exported for the test kernel the loader's tests boot. */
export const KERNEL_FLAGS = [...COMMON, '-target', 'x86_64-unknown-none-elf', '-g', '-nostdlib', '-mno-red-zone', '-mno-mmx', '-mno-sse',
  '-mno-sse2', '-mgeneral-regs-only', '-fno-pic', '-fno-pie', '-mcmodel=small', '-fno-omit-frame-pointer'];
/** ld.lld's options for the kernel; its linker script follows as -T. */
export const KERNEL_LINK = ['-nostdlib', '-static', '-no-pie'];

/** No absolute path of this checkout in any output; in the cache key as written here, so a cache entry made before the mapping is not reused. */
const PREFIX_MAP = ['-ffile-prefix-map=<root>=.', '-fdebug-compilation-dir=.'];
const prefixMap = (): string[] => PREFIX_MAP.map((f) => f.replace('<root>', PACKAGE_ROOT));

/** Where compiled programs are cached: $BANKFORGE_CACHE, else $XDG_CACHE_HOME/bankforge, else ~/.cache/bankforge. */
export function cacheDir(): string {
  return process.env.BANKFORGE_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'bankforge');
}

export interface Compiled {
  path: string;
  cached: boolean;
  /** What the compiler and linker printed when this call compiled ('' when all is well); absent when nothing was compiled. */
  messages?: string;
}

/**
 * Told before a compiler runs (it takes seconds to tens of seconds), and when a build waits for
 * another compiling the same program; never for a cache hit found at once or a prebuilt program.
 */
export type CompileProgress = (message: string) => void;

/** The C sources, headers and linker scripts in `dirs`, in a fixed order. Synchronous, as readSources is. */
export async function sourcesOf(dirs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const d of dirs) {
    for (const f of readdirSync(join(PACKAGE_ROOT, d)).sort()) {
      if (/\.(c|S|h|ld)$/.test(f)) out.push(join(d, f));
    }
  }
  return out;
}

/**
 * Which `name` on the PATH compiles, as part of the cache key: its real path, size and mtime.
 * A stat instead of `name --version`, so a cache hit spawns no process at all (a build that
 * finds everything cached should not pay for four compiler start-ups). Synchronous: a PATH of
 * eleven directories asked through the thread pool cost ~6 ms here, for two tools per program.
 */
export async function tool(name: string, pkg: string, why = ''): Promise<string> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      const st = statSync(join(dir, name), { throwIfNoEntry: false });
      if (st?.isFile() && (st.mode & 0o111) !== 0) return `${realpathSync(join(dir, name))} ${st.size} ${st.mtimeMs}`;
    } catch {
      // not in this directory (or not one we may look in)
    }
  }
  throw new BankforgeError(`${name} not found${why}: install the Debian package ${pkg} (sh scripts/setup.sh does)`);
}

/** A source file's path from the package root and its bytes, as they enter a cache key. */
export interface Source { path: string; bytes: Buffer }

/** Sources one build has read, by path: the loader's key and the kernel's both cover common/. */
export type SourceReads = Map<string, Buffer>;

/**
 * `files` read for keyOf, synchronously: a hundred small files cost ~5 ms so, against ~150 ms as
 * a hundred round trips through the thread pool, and every build pays this. A file already in
 * `reads` is not read again.
 */
export function readSources(files: string[], reads?: SourceReads): Source[] {
  return files.map((path) => {
    let bytes = reads?.get(path);
    if (!bytes) {
      bytes = readFileSync(join(PACKAGE_ROOT, path));
      reads?.set(path, bytes);
    }
    return { path, bytes };
  });
}

/** The hash of what a program is made from; with `versions` (the compilers) empty, the key prebuilt/ records. */
export function keyOf(kind: string, sources: readonly Source[], flags: string[], versions: string[]): string {
  const h = createHash('sha256').update(`${kind}\0${flags.join(' ')}\0${versions.join('\0')}\0`);
  for (const s of sources) h.update(`${s.path}\0`).update(s.bytes).update('\0');
  return h.digest('hex').slice(0, 24);
}

/**
 * Run `produce` (resolving with the tools' messages, if it keeps them) into a fresh directory and
 * move it into the cache only when it succeeded. One process at a time fills an entry: another
 * that wants the same one meanwhile (parallel builds in one CI job, test files started together)
 * waits for it, is told so through `waiting`, and takes what it made instead of compiling it again.
 */
export async function cached(kind: string, key: string, output: string, produce: (dir: string) => Promise<string | void>,
  waiting?: (message: string) => void): Promise<Compiled> {
  const dir = join(cacheDir(), `${kind}-${key}`);
  const path = join(dir, output);
  // Synchronous, as the key's reads are: a build from a checkout asks it for the loader and the kernel.
  const present = (): boolean => existsSync(path);
  if (present()) return { path, cached: true };
  await mkdir(cacheDir(), { recursive: true });
  const lock = await lockEntry(`${dir}.lock`, () => waiting?.(`waiting for another build compiling the same ${kind} into ${cacheDir()}`));
  try {
    if (present()) return { path, cached: true };
    // One directory per call: a process whose entry lock could not be taken (no perl) may still
    // race another for the same entry.
    const tmp = partialPath(dir);
    await mkdir(tmp, { recursive: true });
    let messages: string;
    try {
      messages = (await produce(tmp)) ?? '';
      await rename(tmp, dir).catch(async (e: NodeJS.ErrnoException) => {
        // Another build filled the same cache entry meanwhile: same key, same bytes.
        if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
        await rm(tmp, { recursive: true, force: true });
      });
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    return { path, cached: false, messages };
  } finally {
    lock?.();
  }
}

/** How long a build waits for another's compile of the same program before compiling it too: a compile takes seconds to a minute. */
const COMPILE_WAIT_MS = 10 * 60_000;

/**
 * The entry's lock (an OFD lock on its lock file, released by the returned call or by this
 * process's end, however it ends), waiting while another holds it, for COMPILE_WAIT_MS at most;
 * undefined when it cannot be taken (no perl, a cache on a filesystem without locks, a holder
 * stopped or hung): this build then compiles what it misses without it, as before the cache had
 * locks, and the entry's rename keeps whichever finished first.
 */
async function lockEntry(file: string, onWait: () => void): Promise<(() => void) | undefined> {
  let fd: number;
  try {
    // Not through a symbolic link: the lock file is ours, made here.
    fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  } catch {
    return undefined;
  }
  const title = 'bankforge-cache-lock for pid';
  let answer = await takeOfdLock(fd, [0], { wait: false, title });
  if (answer === 'busy') {
    onWait();
    answer = await takeOfdLock(fd, [0], { wait: true, title, timeoutMs: COMPILE_WAIT_MS });
  }
  if (answer !== 'locked') {
    closeSync(fd);
    return undefined;
  }
  return () => closeSync(fd);
}

/** Resolves with the command's messages (none, when all is well). */
export async function run(what: string, cmd: string, args: string[]): Promise<string> {
  // execa only when something is compiled: loading it is a noticeable part of a cached build.
  const { execa } = await import('execa');
  const r = await execa(cmd, args, { cwd: PACKAGE_ROOT, reject: false, all: true });
  if (r.exitCode !== 0) throw new BankforgeError(`compiling ${what} failed (${cmd} exited ${r.exitCode}):\n${r.all}`);
  return r.all ?? '';
}

/** The flags that make each program, as they enter its key. */
const FLAGS: Record<ProgramKind, string[]> = {
  loader: [...LOADER_FLAGS, ...PREFIX_MAP, ...LOADER_LINK],
  kernel: [...KERNEL_FLAGS, ...PREFIX_MAP],
};
const SOURCE_DIRS: Record<ProgramKind, string[]> = { loader: ['bootloader', 'common'], kernel: ['kernel', 'common'] };

/** The key of a program's sources and flags alone (no compiler): what prebuilt/ is matched by. */
export async function sourceKey(kind: ProgramKind): Promise<string> {
  return keyOf(kind, readSources(await sourcesOf(SOURCE_DIRS[kind])), FLAGS[kind], []);
}

/**
 * The prebuilt program when the sources are the ones it was built from, else the compiler's
 * (cached). Without a compiler, the error says why one is needed: no prebuilt program, or
 * sources that changed since it was built.
 */
async function compiled(kind: ProgramKind, linker: string, output: string, progress: CompileProgress | undefined, reads: SourceReads | undefined,
  produce: (dir: string, files: string[]) => Promise<string>): Promise<Compiled> {
  const files = await sourcesOf(SOURCE_DIRS[kind]);
  const sources = readSources(files, reads);
  const prebuilt = await prebuiltFor(kind, () => keyOf(kind, sources, FLAGS[kind], []));
  if (prebuilt.path) return { path: prebuilt.path, cached: true };
  const why = prebuilt.differs ? ` (the C sources in ${SOURCE_DIRS[kind].join('/, ')}/ differ from those the prebuilt ${output} was made from, so it must be compiled)` : '';
  const versions = [await tool('clang', 'clang', why), await tool(linker, 'lld', why)];
  const key = keyOf(kind, sources, FLAGS[kind], versions);
  return cached(kind, key, output, async (dir) => {
    // The compiler reads the sources afresh and takes seconds: the other program's key, after
    // this, is made from what the files hold then, not from what was read before.
    reads?.clear();
    progress?.(`compiling the ${kind} (${files.filter((f) => /\.(c|S)$/.test(f)).length} files, clang)`);
    return produce(dir, files);
  }, progress);
}

/** bootloader/*.c + common/*.c -> BOOTX64.EFI; `reads`, when given, shares the sources read with the kernel's key. */
export async function compileLoader(progress?: CompileProgress, reads?: SourceReads): Promise<Compiled> {
  return compiled('loader', 'lld-link', 'BOOTX64.EFI', progress, reads, async (dir, files) => {
    const c = files.filter((f) => f.endsWith('.c'));
    return run('the loader', 'clang', [...LOADER_FLAGS, ...prefixMap(), '-Icommon', ...LOADER_LINK, '-o', join(dir, 'BOOTX64.EFI'), ...c]);
  });
}

/** kernel/*.c, kernel/*.S + common/*.c -> kernel.elf (with debug info), linked by kernel/kernel.ld; `reads` as for compileLoader. */
export async function compileKernel(progress?: CompileProgress, reads?: SourceReads): Promise<Compiled> {
  return compiled('kernel', 'ld.lld', 'kernel.elf', progress, reads, (dir, files) => buildKernel(dir, files));
}

/**
 * compileKernel's build: `files` compiled and linked into `dir`/kernel.elf. Resolves with what
 * clang and ld.lld printed, which is nothing when all is well (test/kernel/build.test.ts checks that).
 */
async function buildKernel(dir: string, files: string[]): Promise<string> {
  const units = files.filter((f) => /\.(c|S)$/.test(f));
  const objects = units.map((f) => join(dir, `${f.replace(/[/.]/g, '_')}.o`));
  const messages: string[] = [];
  // One clang per unit, as many at once as there are cores.
  let next = 0;
  const worker = async () => {
    while (next < units.length) {
      const i = next++;
      messages[i] = await run(`the kernel (${units[i]})`, 'clang', [...KERNEL_FLAGS, ...prefixMap(), '-Icommon', '-Ikernel', '-c', units[i]!, '-o', objects[i]!]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, cpus().length) }, worker));
  messages.push(await run('the kernel (link)', 'ld.lld', [...KERNEL_LINK, '-T', 'kernel/kernel.ld', '-o', join(dir, 'kernel.elf'), ...objects]));
  return messages.filter(Boolean).join('\n');
}
