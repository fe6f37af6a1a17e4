// Builds for the loader's tests: the host program over the loader's plain-C parsers (with
// ASan/UBSan when the compiler has them) and the test kernel in test/fixtures/test-kernel. The
// loader itself is the pipeline's (compileLoader in builder/pipeline/compile.ts).

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { KERNEL_FLAGS, KERNEL_LINK } from '../../builder/pipeline/compile.js';
import { cachedBuild } from '../helpers/c-host.js';
import { mustRun, repoRoot } from '../helpers/tools.js';

const C_FLAGS = ['-std=c11', '-O1', '-g', '-Wall', '-Wextra', '-Werror', '-Wno-format',
  `-I${join(repoRoot, 'common')}`, `-I${join(repoRoot, 'bootloader')}`];
const HOST_SOURCES = ['test/c/loader-host.c', 'common/gpt.c', 'common/bootcfg.c', 'common/hostcfg.c', 'bootloader/elf.c',
  'common/fmt.c', 'common/crc32.c', 'common/bankstate.c', 'common/sha256.c', 'common/i6300esb.c'].map((f) => join(repoRoot, f));
const SANITIZE = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all'];

/** A plain build of test/c/loader-host.c: a twelfth of the sanitized one's start-up, for many short runs. */
export async function buildPlainHost(): Promise<string> {
  const flags = [...C_FLAGS, ...HOST_SOURCES];
  return cachedBuild('loader-host-plain', flags, ['cc'], (out) => mustRun('cc', [...flags, '-o', join(out, 'loader-host-plain')]).then(() => undefined));
}

/** Compile test/c/loader-host.c; `sanitized` says whether ASan/UBSan are in. */
export async function buildHost(): Promise<{ bin: string; sanitized: boolean }> {
  const flags = [...C_FLAGS, ...SANITIZE, ...HOST_SOURCES];
  try {
    return { bin: await cachedBuild('loader-host', flags, ['cc'], (out) => mustRun('cc', [...flags, '-o', join(out, 'loader-host')]).then(() => undefined)), sanitized: true };
  } catch {
    return { bin: await buildPlainHost(), sanitized: false };
  }
}

/**
 * One `loader-host serve` process per binary, asked one command line after another: a process
 * per question cost a fork and ASan's start-up each, most of the vectors' time. A question's
 * answer is what the command alone would print; a non-zero status (a leak included: LSan checks
 * after every command) fails it as a non-zero exit did.
 */
class Server {
  readonly #proc: ChildProcessWithoutNullStreams;
  readonly #waiting: { lines: string[]; done: (status: number, lines: string[]) => void }[] = [];
  #stderr = '';
  #exit: string | undefined;

  constructor(readonly bin: string) {
    this.#proc = spawn(bin, ['serve'], { stdio: 'pipe' });
    this.#proc.stderr.on('data', (d) => { this.#stderr = (this.#stderr + d).slice(-8000); });
    createInterface({ input: this.#proc.stdout }).on('line', (line) => {
      const w = this.#waiting[0];
      if (!w) return;
      const end = /^end (\d+)$/.exec(line);
      if (!end) { w.lines.push(line); return; }
      this.#waiting.shift();
      this.#idle();
      w.done(Number(end[1]), w.lines);
    });
    this.#proc.on('exit', (code, signal) => {
      this.#exit = `exited ${code ?? signal}`;
      for (const w of this.#waiting.splice(0)) w.done(-1, w.lines);
    });
    this.#idle();
  }

  /** Holds the event loop open only while a question waits for its answer. */
  #idle(): void {
    const busy = this.#waiting.length > 0;
    for (const h of [this.#proc, this.#proc.stdout, this.#proc.stderr, this.#proc.stdin] as { ref(): void; unref(): void }[]) {
      if (busy) h.ref(); else h.unref();
    }
  }

  ask(args: string[]): Promise<any> {
    return new Promise((resolve, reject) => {
      const what = `loader-host ${args.join(' ').slice(0, 200)}`;
      if (this.#exit) { reject(new Error(`${what}: the server ${this.#exit}:\n${this.#stderr}`)); return; }
      this.#waiting.push({
        lines: [],
        done: (status, lines) => {
          if (status !== 0) reject(new Error(`${what} ${status < 0 ? `: the server ${this.#exit}` : `exited ${status}`}:\n${lines.join('\n')}\n${this.#stderr}`));
          else resolve(JSON.parse(lines.join('\n')));
        },
      });
      this.#idle();
      // Each word in hex ("-" for an empty one): arguments may hold spaces, tabs and newlines.
      this.#proc.stdin.write(`${args.map((a) => (a === '' ? '-' : Buffer.from(a, 'utf8').toString('hex'))).join(' ')}\n`);
    });
  }

  /** Ends the server; rejects unless it exits 0 (LSan's report at exit included). */
  async close(): Promise<void> {
    if (!this.#exit) {
      const exited = new Promise<number | null>((r) => this.#proc.once('exit', (code) => r(code)));
      this.#proc.ref();   // the wait for its exit holds the event loop open
      this.#proc.stdin.end();
      const code = await exited;
      if (code !== 0) throw new Error(`loader-host serve exited ${code}:\n${this.#stderr}`);
    } else if (this.#exit !== 'exited 0') throw new Error(`loader-host serve ${this.#exit}:\n${this.#stderr}`);
  }
}

const servers = new Map<string, Server>();

/** Run one command of the host program; its stdout is one JSON object. */
export async function host(bin: string, args: string[]): Promise<any> {
  let s = servers.get(bin);
  if (!s) servers.set(bin, (s = new Server(bin)));
  return s.ask(args);
}

/** Ends every host program `host` started; for test.after. */
export async function closeHosts(): Promise<void> {
  const all = [...servers.values()];
  servers.clear();
  await Promise.all(all.map((s) => s.close()));
}

/** The test kernel, which prints its boot info on COM1 and halts: built as the kernel is, with the
 * C it shares, but without debug info (-S), since the ELF parser's fuzz test mutates its bytes. */
export async function buildTestKernel(): Promise<string> {
  const k = join(repoRoot, 'test', 'fixtures', 'test-kernel');
  const units = [join(k, 'kernel.c'), join(repoRoot, 'common', 'fmt.c'), join(repoRoot, 'common', 'bfstring.c')];
  const cflags = [...KERNEL_FLAGS, `-I${join(repoRoot, 'common')}`];
  const lflags = [...KERNEL_LINK, '-S', '-T', join(k, 'kernel.ld')];
  return cachedBuild('kernel.elf', [...cflags, '|', ...lflags, ...units], ['clang', 'ld.lld'], async (dir) => {
    const objects = units.map((_, i) => join(dir, `test-kernel-${i}.o`));
    await Promise.all(units.map((u, i) => mustRun('clang', [...cflags, '-c', u, '-o', objects[i]!])));
    await mustRun('ld.lld', [...lflags, '-o', join(dir, 'kernel.elf'), ...objects]);
  });
}
