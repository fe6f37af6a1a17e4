// Power cuts for real: QEMU is SIGKILLed at random moments while the guest writes its bank state
// (the loader's try, the kernel's mark-good), then booted again, which must reach the ready line.
// Used by test/disk/upgrade/powercut-kill.qemu.test.ts (a few rounds) and bench/powercut.ts (many).
//
// How random: each lane first times one boot from the loader's "bank B: partition" line (printed
// just before the selection and its try write) to the kernel's "bank: B marked good" line. The
// span [0, 1.25 x that window] is cut into lanes x rounds equal strata, and every round kills at
// a moment drawn by a seeded PRNG (the seed is printed; BANKFORGE_POWERCUT_SEED replays it) inside
// a stratum of its own, the strata dealt out across the lanes: so kills land before, during and
// after the try write, through the kernel load, and before, during and just after mark-good, with
// no part of the window left out by chance: the widest gap 20 uniform draws leave is 18% of the
// span on average, 12 stratified ones leave at most 17%, and each round costs two boots.

import { Machine } from '../../../qemu/index.js';
import { readBanks } from '../../../disk/bank-state.js';
import { upgrade } from '../../../disk/upgrade/upgrade.js';
import { Bank, BootState, text } from '../../../partitions/bankstate.js';
import { changeBank } from '../../helpers/images.js';
import { bundle, storeFingerprint, storeImage } from './fixtures.js';
import { BOOT_MS } from '../../helpers/machine.js';

const TRIGGER = /^bank B: partition /;
const GOOD = /^bank: B marked good/;
const READY = /^bankforge: ready version=(\S+) bank=([AB]) /;

export interface KillRound { lane: number; delayMs: number; before: string; after: string; booted: string }
export interface KillReport { seed: number; windowMs: number[]; rounds: KillRound[]; storeIntact: boolean }

/** mulberry32: small, seedable, good enough to spread kill moments. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const describe = async (img: string) => {
  const b = (await readBanks(img)).banks[Bank.B]!.view.state;
  return `B ${['valid', 'new', 'trying', 'invalid'][b.bootstate]} ${b.triesLeft}/${b.triesMax} ${text(b.version)}`;
};

/** B back on trial with all its tries, so the next boot writes again (as a fresh upgrade leaves it). */
const rearm = (img: string) => changeBank(img, Bank.B, (s) => { s.bootstate = BootState.New; s.triesLeft = s.triesMax; });

async function lane(dir: string, layout: string, index: number, lanes: number, rounds: number, rand: () => number, log: (s: string) => void): Promise<{ window: number; rounds: KillRound[]; storeIntact: boolean }> {
  const img = await storeImage(dir, `kill-${index}`, layout);
  const store = JSON.stringify(await storeFingerprint(img));
  await upgrade({ target: img, bundle: await bundle(dir, '2.0.0', layout), tries: 3, force: false });

  // Calibration: one undisturbed trial boot.
  const m0 = await Machine.start({ image: img, name: `kill-${index}-calibrate` });
  let window: number;
  try {
    await m0.waitFor(TRIGGER, { timeoutMs: BOOT_MS });
    const t0 = Date.now();
    await m0.waitFor(GOOD, { timeoutMs: BOOT_MS });
    window = Date.now() - t0;
    await m0.waitFor(READY, { timeoutMs: BOOT_MS });
  } finally {
    await m0.stop();
  }

  const out: KillRound[] = [];
  for (let r = 0; r < rounds; r++) {
    await rearm(img);
    const before = await describe(img);
    // Stratum r * lanes + index of lanes * rounds: the lanes' kills interleave over the window.
    const strata = lanes * rounds;
    const delayMs = Math.round(((r * lanes + index + rand()) / strata) * window * 1.25);
    const victim = await Machine.start({ image: img, name: `kill-${index}-${r}` });
    try {
      await victim.waitFor(TRIGGER, { timeoutMs: BOOT_MS });
      await new Promise((res) => setTimeout(res, delayMs));
      await victim.kill();
    } finally {
      await victim.stop();
    }
    const after = await describe(img);
    const again = await Machine.start({ image: img, name: `kill-${index}-${r}-again` });
    let booted: string;
    try {
      const [, version, bank] = await again.waitFor(READY, { timeoutMs: BOOT_MS });
      booted = `${bank} ${version}`;
    } finally {
      await again.stop();
    }
    const round = { lane: index, delayMs, before, after, booted };
    log(`  lane ${index} round ${r}: kill after ${delayMs} ms of a ${window} ms window: ${before} -> ${after}; next boot reached ready on bank ${booted}`);
    out.push(round);
  }
  return { window, rounds: out, storeIntact: JSON.stringify(await storeFingerprint(img)) === store };
}

/** `lanes` machines side by side (2 fit 2 cores), `roundsPerLane` kills each. */
export async function killTest(dir: string, layout: string, opts: { lanes: number; roundsPerLane: number; seed?: number; log?: (s: string) => void }): Promise<KillReport> {
  const seed = opts.seed ?? (Number(process.env.BANKFORGE_POWERCUT_SEED) || (Date.now() % 2 ** 31));
  const log = opts.log ?? (() => undefined);
  log(`  power-cut kills: seed ${seed} (BANKFORGE_POWERCUT_SEED=${seed} replays the delays)`);
  const results = await Promise.all(Array.from({ length: opts.lanes }, (_, i) => lane(dir, layout, i, opts.lanes, opts.roundsPerLane, prng(seed + i), log)));
  return { seed, windowMs: results.map((r) => r.window), rounds: results.flatMap((r) => r.rounds), storeIntact: results.every((r) => r.storeIntact) };
}
