// Wall-clock timing of whole processes for bench/ scripts: the median of several runs, so one
// slow run (page cache, a busy core) does not decide the ratio.

import { execa } from 'execa';

export async function timeCommand(cmd: string, args: string[], opts: { runs: number; cwd?: string; before?: () => Promise<void> }): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    await opts.before?.();
    const t0 = process.hrtime.bigint();
    await execa(cmd, args, { cwd: opts.cwd ?? process.cwd(), stdio: ['ignore', 'ignore', 'pipe'] });
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export function ratioLine(name: string, ours: number, theirs: number, target?: number): string {
  const r = ours / theirs;
  const verdict = target === undefined ? '' : r <= target ? `  (target <= ${target}x: met)` : `  (target <= ${target}x: NOT met)`;
  return `${name.padEnd(34)} ${theirs.toFixed(3)} s   bankforge/${name.split(' ')[0]} = ${r.toFixed(2)}x${verdict}`;
}

/**
 * One run's wall time and CPU time (user + system of the process and its children, as GNU time
 * reports them, 10 ms resolution). CPU time hardly depends on what else the machine is doing, so
 * on a busy machine it is the fairer of the two ratios.
 */
export async function timeCommandCpu(cmd: string, args: string[], opts: { cwd?: string; before?: () => Promise<void> } = {}): Promise<{ wall: number; cpu: number }> {
  await opts.before?.();
  const t0 = process.hrtime.bigint();
  const r = await execa('/usr/bin/time', ['-f', '%U %S', cmd, ...args], { cwd: opts.cwd ?? process.cwd(), stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const m = /(\d+\.\d+) (\d+\.\d+)\s*$/.exec(String(r.stderr));
  if (!m) throw new Error(`${cmd}: no CPU times from /usr/bin/time: ${String(r.stderr)}`);
  return { wall, cpu: Number(m[1]) + Number(m[2]) };
}

/**
 * `items` in a random order: for runs taken in turn, a fresh order each round. On these VMs a
 * QEMU started right after another reuses that one's still-backed memory and so boots ~0.2 s
 * sooner (docs/qemu.md), so boots alternate fast and slow; in a fixed rotation of an even number
 * of variants, each variant would keep its fast or slow slot in every round.
 */
export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * `node -e 0` started as bin/bankforge.js starts Node (sh, then Node without NODE_EXTRA_CA_CERTS):
 * the floor a whole-process ratio is taken against, so that it says what bankforge itself costs.
 */
export const NODE_FLOOR: readonly [string, string[]] = ['sh', ['-c', 'unset NODE_EXTRA_CA_CERTS; exec node -e 0']];
