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
