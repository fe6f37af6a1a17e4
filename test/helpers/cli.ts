// Runs the real CLI the way a user does (bin/bankforge.js, executed: its first lines are part of it),
// for tests of messages and exit codes.

import { execa } from 'execa';
import { join } from 'node:path';
import { repoRoot } from './tools.js';

export const BIN = join(repoRoot, 'bin', 'bankforge.js');

export interface CliResult { exitCode: number; stdout: string; stderr: string }

export async function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const r = await execa(BIN, args, { reject: false, cwd: opts.cwd ?? repoRoot, env: opts.env ?? {}, encoding: 'utf8' });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}
