// Power cuts for real, many of them: QEMU SIGKILLed at random moments around the loader's try
// write and the kernel's mark-good (test/upgrade/powercut-kill.ts says how random), each followed
// by a boot that must reach the ready line. The suite runs 20; this runs as many as asked.
//   npm run build && node dist/bench/powercut.js [ROUNDS_PER_LANE=25] [LANES=2]
// BANKFORGE_POWERCUT_SEED=N replays a run's kill delays.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killTest } from '../test/disk/upgrade/powercut-kill.js';
import { storeLayout } from '../test/disk/upgrade/fixtures.js';

const rounds = Number(process.argv[2] ?? 25);
const lanes = Number(process.argv[3] ?? 2);
const dir = await mkdtemp(join(tmpdir(), 'bankforge-bench-powercut-'));
try {
  const t0 = Date.now();
  const r = await killTest(dir, await storeLayout(dir), { lanes, roundsPerLane: rounds, log: (s) => console.log(s) });
  const bad = r.rounds.filter((k) => k.booted !== 'A 1.0.0' && k.booted !== 'B 2.0.0');
  const byState = new Map<string, number>();
  for (const k of r.rounds) byState.set(k.after.split(' ')[1]!, (byState.get(k.after.split(' ')[1]!) ?? 0) + 1);
  console.log(`\n${r.rounds.length} kills in ${((Date.now() - t0) / 1000).toFixed(0)} s (seed ${r.seed}, windows ${r.windowMs.join('/')} ms)`);
  console.log(`bank B after the kill: ${[...byState].map(([s, n]) => `${s} ${n}`).join(', ')}`);
  console.log(`next boot reached ready on A 1.0.0 or B 2.0.0: ${r.rounds.length - bad.length}/${r.rounds.length}; store intact: ${r.storeIntact}`);
  process.exitCode = bad.length || !r.storeIntact ? 1 : 0;
} finally {
  await rm(dir, { recursive: true, force: true });
}
