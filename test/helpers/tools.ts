// Test plumbing shared by every suite: scratch directories and running the oracle tools
// (sgdisk, fsck.fat, mtools, qemu-img, ...) with their output kept for the assertion message.

import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

/** The repository root (tests run from dist/test/..., sources live beside dist). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export async function scratch(prefix = 'bankforge-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface ToolResult { exitCode: number; stdout: string; stderr: string; all: string }

/** Run a tool; never throws on a non-zero exit, so the test can assert on it and print the output. */
export async function tool(cmd: string, args: string[], input?: string | Buffer, cwd?: string): Promise<ToolResult> {
  const r = await execa(cmd, args, { reject: false, all: true, ...(input !== undefined ? { input } : {}), ...(cwd ? { cwd } : {}), encoding: 'utf8' });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', all: r.all ?? '' };
}

/** Run a tool that must succeed; throws with its whole output otherwise. */
export async function mustRun(cmd: string, args: string[]): Promise<string> {
  const r = await tool(cmd, args);
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.exitCode}:\n${r.all}`);
  return r.stdout;
}

/**
 * A copy of this tree into `to` as a second clone would have it: the files git tracks or would
 * track (nothing .gitignore names: outputs, dist/, node_modules, the fetched Linux in .cache/).
 * Throws when any step of the pipe fails, or when the copy lacks package.json.
 */
export async function copyTree(to: string): Promise<void> {
  await mustRun('bash', ['-c', 'set -eo pipefail; cd "$1"; git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$2"', 'copy', repoRoot, to]);
  await access(join(to, 'package.json')).catch(() => { throw new Error(`copying ${repoRoot} to ${to}: no package.json arrived`); });
}
