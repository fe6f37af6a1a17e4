// Power cuts for real (docs/upgrade.md, "Killing QEMU"): 2 lanes x 6 rounds, each round a
// SIGKILL at a random moment around the loader's try write and the kernel's mark-good (one
// moment in each twelfth of that window), then a boot that must reach the ready line on a bank
// holding the old or the new version. Every sector write's cut point is proven by the simulation
// (powercut-sim.test.ts); these kills check the same on the real loader, kernel and QEMU disk.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { scratch } from '../../helpers/tools.js';
import { storeLayout } from './fixtures.js';
import { killTest } from './powercut-kill.js';

const { dir, cleanup } = await scratch('bankforge-kill-');

test('12 SIGKILLs around the state writes: every next boot reaches ready on A (1.0.0) or B (2.0.0); the store survives', async () => {
  const r = await killTest(dir, await storeLayout(dir), { lanes: 2, roundsPerLane: 6, log: (s) => console.log(s) });
  assert.is(r.rounds.length, 12);
  for (const k of r.rounds) assert.ok(k.booted === 'A 1.0.0' || k.booted === 'B 2.0.0', `lane ${k.lane}: booted ${k.booted}`);
  assert.ok(r.storeIntact, 'store files unchanged');
  // The kills must actually land on both sides of the writes, or the test proves little.
  const states = new Set(r.rounds.map((k) => k.after.split(' ')[1]));
  console.log(`  kill windows ${r.windowMs.join(', ')} ms; B's state found after the kills: ${[...states].join(', ')}`);
  assert.ok(states.size >= 2, `every kill left B in the same state (${[...states]}): widen the window`);
});

test.after(cleanup);
test.run();
