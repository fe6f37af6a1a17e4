// Host builds of our C code, driven line by line: compile once per test file (with ASan and
// UBSan where the compiler has them), then ask questions and read one JSON answer per line.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { mustRun, repoRoot } from './tools.js';

/** test/c/common-host.c and the common/ code it answers for (bank state, CRC-32, SHA-256). */
export const COMMON_HOST_SOURCES = ['test/c/common-host.c', 'common/crc32.c', 'common/sha256.c', 'common/bankstate.c', 'common/fmt.c'];

export async function compileHost(out: string, sources: string[], opts: { sanitize?: boolean; flags?: string[] } = {}): Promise<string> {
  const flags = ['-std=c11', '-O1', '-g', '-Wall', '-Wextra', '-Werror', `-I${join(repoRoot, 'common')}`, ...(opts.flags ?? [])];
  if (opts.sanitize ?? true) flags.push('-fsanitize=address,undefined', '-fno-sanitize-recover=all');
  await mustRun('cc', [...flags, ...sources.map((s) => join(repoRoot, s)), '-o', out]);
  return out;
}

export class HostProgram {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly pending: ((line: string) => void)[] = [];
  private stderr = '';

  constructor(binary: string) {
    this.proc = spawn(binary, [], { stdio: 'pipe' });
    this.proc.stderr.on('data', (d) => { this.stderr += d; });
    createInterface({ input: this.proc.stdout }).on('line', (line) => this.pending.shift()?.(line));
  }

  ask<T = Record<string, unknown>>(line: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to "${line.slice(0, 80)}…"; stderr: ${this.stderr}`)), 10000);
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
