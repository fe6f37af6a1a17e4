// Hostile bundles (issue 15's campaign, kept in the suite): the fixture's bundle with bytes
// changed, cut short, grown, or its header's lengths set to values near the 2 and 4 GiB
// boundaries, given to `bankforge upgrade`. Each must end by itself with 0 or 3, never 1 or a
// signal, and a refused upgrade must leave the image byte-identical.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FUZZ_SEED, fuzzRounds, judge, mutate, rng, runCase, tally, type Outcome } from '../helpers/fuzz.js';
import { sameAsDamaged, writeDamagedCopy } from '../helpers/damaged-copy.js';
import { limiter } from '../helpers/limit.js';
import { scratch } from '../helpers/tools.js';
import { fixture } from './fixture.js';

const { dir, cleanup } = await scratch('bankforge-fuzz-bundles-');
const fx = await fixture(dir);
const ROUNDS = fuzzRounds(24);
const LENGTHS = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff0];

function hostileBundle(b: Buffer, next: () => number): Buffer {
  const manifestLength = b.readUInt32LE(12);
  switch (next() % 5) {
    case 0: return b.subarray(0, next() % b.length);
    case 1: { const out = Buffer.from(b); out.writeUInt32LE(LENGTHS[next() % LENGTHS.length]!, [12, 16][next() % 2]!); return out; }
    case 2: return Buffer.concat([b, Buffer.alloc(1 + (next() % 4096), next() & 0xff)]);
    case 3: {
      // Bytes changed in the payload: the files' hashes must catch every one.
      const out = Buffer.from(b);
      const payload = 24 + manifestLength;
      out[payload + (next() % (b.length - payload))] ^= 1 + (next() % 255);
      return out;
    }
    default: {
      // The manifest's text mutated, its length in the header kept true so the reader parses it.
      const manifest = mutate(b.subarray(24, 24 + manifestLength), next);
      const header = Buffer.from(b.subarray(0, 24));
      header.writeUInt32LE(manifest.length, 12);
      return Buffer.concat([header, manifest, b.subarray(24 + manifestLength)]);
    }
  }
}

test(`hostile bundles: upgrade exits 0 or 3 and a refusal changes nothing (seed ${FUZZ_SEED}, ${ROUNDS} cases)`, async () => {
  const next = rng(FUZZ_SEED ^ 0xb0d1e);
  const original = await readFile(fx.bundle);
  const bundles = Array.from({ length: ROUNDS }, () => hostileBundle(original, next));
  const limit = limiter(2);
  const outcomes: Outcome[] = [];
  const problems: string[] = [];
  await Promise.all(bundles.map((bundle, i) => limit(async () => {
    const caseDir = join(dir, `case-${i}`);
    await mkdir(caseDir);
    const img = join(caseDir, 'disk.img');
    await writeDamagedCopy(fx.image, img, []);
    await writeFile(join(caseDir, 'x.bfb'), bundle);
    const o = await runCase(['upgrade', img, 'x.bfb', '--quiet'], { cwd: caseDir, timeoutMs: 60_000 });
    outcomes.push(o);
    const what = `case ${i} (${bundle.length} bytes)`;
    const bad = judge(o, [0, 3]);
    if (bad) problems.push(`${what}: ${bad}`);
    if (o.exitCode !== 0 && !(await sameAsDamaged(img, fx.bytes))) problems.push(`${what}: refused but the image changed`);
  })));
  console.log(`fuzz bundles (seed ${FUZZ_SEED}): ${outcomes.length} cases: ${tally(outcomes)}`);
  assert.equal(problems, [], problems.join('\n'));
});

test.after(cleanup);
test.run();
