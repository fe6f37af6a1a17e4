// Benchmark: how long the CLI takes to start and finish a small command, against `node -e 0`
// (Node's own start-up, the floor under any Node CLI): `bankforge --help` and `bankforge status
// IMAGE` on the default image, whole process each, run in turn, in a fresh random order each
// round (timing.ts, shuffled), so a busy machine slows all alike. Prints the median wall time and
// the median CPU time (user + system, from /proc of the finished child: less sensitive to other
// load) of each, and the ratios.
// bankforge is run as installed, through its first lines, which unset NODE_EXTRA_CA_CERTS (a
// certificate file Node parses at every start). Where that variable is set, the floor for the
// targets is `node -e 0` started the same way, so that a ratio measures what bankforge itself
// costs; plain `node -e 0`, which pays for the file, is printed too.
// Run: npm run build && node dist/bench/startup.js

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from '../builder/build.js';
import { PACKAGE_ROOT } from '../support/package-info.js';
import { NODE_FLOOR, shuffled } from './timing.js';

/**
 * 41: on these VMs Node's own start moves between two levels (30 and 36 ms, minutes apart), and
 * with 15 runs the floor's median landed on the low one while the others' did not often enough
 * to swing --help between 1.17x and 1.41x in three runs of the same code. A run costs ~6 s.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 41);
const BIN = join(PACKAGE_ROOT, 'bin', 'bankforge.js');
const quiet = { step() {}, done() {} };

/** Wall and CPU seconds of one run; CPU through `time`'s format, as GNU time reports it. */
function run([command, ...args]: string[]): Promise<{ wall: number; cpu: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%U %S', command!, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    child.once('close', (code) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const m = /(\d+\.\d+) (\d+\.\d+)\s*$/.exec(err);
      if (code !== 0 || !m) { reject(new Error(`${args.join(' ')} exited ${code}: ${err}`)); return; }
      resolve({ wall, cpu: Number(m[1]) + Number(m[2]) });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = await mkdtemp(join(tmpdir(), 'bankforge-bench-startup-'));
try {
  const image = join(dir, 'esxi.img');
  await build({ out: image, version: '1.0.0', progress: quiet });
  const extraCerts = Boolean(process.env.NODE_EXTRA_CA_CERTS);
  const cases: [string, string[]][] = [
    ...(extraCerts ? [['node -e 0, certs read', [process.execPath, '-e', '0']] as [string, string[]]] : []),
    ['node -e 0', [NODE_FLOOR[0], ...NODE_FLOOR[1]]],
    ['bankforge --help', [BIN, '--help']],
    ['bankforge status IMAGE', [BIN, 'status', image]],
  ];
  const floor = extraCerts ? 1 : 0;
  const wall: number[][] = cases.map(() => []), cpu: number[][] = cases.map(() => []);
  for (let i = 0; i < RUNS; i++) {
    for (const [k, [, args]] of shuffled([...cases.entries()])) {
      const r = await run(args);
      wall[k]!.push(r.wall); cpu[k]!.push(r.cpu);
    }
  }
  const [w0, c0] = [median(wall[floor]!), median(cpu[floor]!)];
  console.log(`start-up, median of ${RUNS} runs each, in a random order each round (CPU = user + system, 10 ms resolution)`);
  if (extraCerts) console.log(`NODE_EXTRA_CA_CERTS is set: "node -e 0" is started as bankforge starts Node, without it; "certs read" is plain node`);
  for (const [k, [name]] of cases.entries()) {
    const w = median(wall[k]!), c = median(cpu[k]!);
    const verdict = k <= floor ? '' : `   wall ${(w / w0).toFixed(2)}x, CPU ${(c / c0).toFixed(2)}x node -e 0  (target <= 1.3x: ${w / w0 <= 1.3 ? 'met' : 'NOT met'})`;
    console.log(`${name.padEnd(24)} wall ${w.toFixed(3)} s  CPU ${c.toFixed(3)} s${verdict}`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
