// Host builds of our C code, driven line by line: compile (with ASan and UBSan where the compiler
// has them), then ask questions and read one JSON answer per line.
// Every host build is cached by what makes it (cachedBuild): the sources and every C file and
// header of the directories they may include, the flags and the compiler binary. Several test
// files build the same program (common-host three times, the loader's host program three), and
// an unchanged tree rebuilds nothing: about 2-5 s of CPU per sanitized build saved.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { basename, join } from 'node:path';
import { cached, keyOf, readSources, sourcesOf, tool as compilerId } from '../../builder/pipeline/compile.js';
import { mustRun, repoRoot } from './tools.js';

/** test/c/common-host.c and the common/ code it answers for (bank state, CRC-32, SHA-256). */
export const COMMON_HOST_SOURCES = ['test/c/common-host.c', 'common/crc32.c', 'common/sha256.c', 'common/bankstate.c', 'common/fmt.c'];

/** What a host build may read besides its sources: every C file, header and linker script here. */
const INCLUDED_DIRS = ['common', 'kernel', 'bootloader', 'linuxtool', 'test/c', 'test/coredump', 'test/kernel', 'test/fixtures/test-kernel'];

/**
 * `produce(dir)` writes `name` into `dir`; the result is kept in the build cache under a key of
 * everything it was made from (`flags` as the build uses them, the `compilers` run), and later
 * calls with the same key return the kept file without compiling.
 */
export async function cachedBuild(name: string, flags: string[], compilers: string[], produce: (dir: string) => Promise<void>): Promise<string> {
  const versions = await Promise.all(compilers.map((c) => compilerId(c, c === 'cc' ? 'gcc' : c === 'ld.lld' ? 'lld' : c)));
  const key = keyOf(`test-${name}`, readSources(await sourcesOf(INCLUDED_DIRS)), flags, versions);
  return (await cached(`test-${name}`, key, name, produce)).path;
}

/** Builds `sources` (paths from the repository root) into a program called `name`; resolves with its path. */
export async function compileHost(name: string, sources: string[], opts: { sanitize?: boolean; flags?: string[] } = {}): Promise<string> {
  const flags = ['-std=c11', '-O1', '-g', '-Wall', '-Wextra', '-Werror', `-I${join(repoRoot, 'common')}`, ...(opts.flags ?? [])];
  if (opts.sanitize ?? true) flags.push('-fsanitize=address,undefined', '-fno-sanitize-recover=all');
  return cachedBuild(basename(name), [...flags, ...sources], ['cc'], async (dir) => {
    await mustRun('cc', [...flags, ...sources.map((s) => join(repoRoot, s)), '-o', join(dir, basename(name))]);
  });
}

/** How long one question may take before the program counts as hung. */
const ASK_MS = 180_000;

export class HostProgram {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly pending: ((line: string) => void)[] = [];
  private stderr = '';

  constructor(binary: string) {
    this.proc = spawn(binary, [], { stdio: 'pipe' });
    this.proc.stderr.on('data', (d) => { this.stderr += d; });
    createInterface({ input: this.proc.stdout }).on('line', (line) => this.pending.shift()?.(line));
  }

  /**
   * The answer to one line. The bound is for a program that hangs, not a measure of speed: one
   * question may be a 40 000-input fuzz loop under ASan (about 2 s of CPU alone), and on two
   * cores shared with QEMU boots and other test files (load 5 to 15 here) that can pass 10 s,
   * the bound this had before: a likely source of the suite's rare unexplained failure.
   */
  ask<T = Record<string, unknown>>(line: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${ASK_MS / 1000} s to "${line.slice(0, 80)}…"; stderr: ${this.stderr}`)), ASK_MS);
      this.pending.push((answer) => { clearTimeout(timer); resolve(JSON.parse(answer) as T); });
      this.proc.stdin.write(`${line}\n`);
    });
  }

  async close(): Promise<string> {
    this.proc.stdin.end();
    await new Promise((r) => this.proc.once('exit', r));
    return this.stderr;
  }
}
