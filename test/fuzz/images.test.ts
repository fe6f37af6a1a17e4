// Hostile images (issue 15's campaign, kept in the suite): the tiny fixture image with bytes
// changed in the structures bankforge reads — both GPT copies, each FAT's boot sector, tables and
// root directory, the bank state slots, the configuration slots, the core-dump area — given to
// every command that reads or changes an image. Each must end by itself within its bound, with a
// documented exit code (never 1, never a signal), leave the image byte-identical unless it
// succeeded in changing it, and leave nothing beside it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FUZZ_SEED, fuzzRounds, judge, rng, runCase, tally, type Outcome } from '../helpers/fuzz.js';
import { sameAsDamaged, writeDamagedCopy, type Damage } from '../helpers/damaged-copy.js';
import { limiter } from '../helpers/limit.js';
import { scratch } from '../helpers/tools.js';
import { fixture } from './fixture.js';

const { dir, cleanup } = await scratch('bankforge-fuzz-images-');
const fx = await fixture(dir);
const ROUNDS = fuzzRounds(40);
const KiB = 1024;

/** [start, length] of the fields worth damaging, from the manifest: where a parser makes decisions. */
function regions(): [number, number][] {
  const m = fx.manifest;
  const ss = m.sectorSize;
  const fatStart = (p: { offset: number }) => p.offset + ss; // one reserved sector on FAT12/16
  // GPT: both headers (92 bytes), the first entries (128 bytes each).
  const out: [number, number][] = [[ss, 92], [2 * ss, 5 * 128], [m.diskSize - ss, 92], [m.diskSize - ss - 16 * KiB, 5 * 128]];
  for (const p of m.partitions) {
    const end = p.offset + p.size;
    // FAT: the BPB, the first FAT entries, the first root directory entries.
    if (p.filesystem.startsWith('fat')) out.push([p.offset, 62], [fatStart(p), 64], [fatStart(p) + 2 * ss * Math.ceil((p.size / (2 * KiB)) * 1.5 / ss), 8 * 32]);
    else out.push([p.offset, 512]); // the core-dump partition header
    // The two state records at a bank's end; the two configuration records at the store's end.
    if (p.name.includes('bootbank')) out.push([end - 8 * KiB, 256], [end - 4 * KiB, 256]);
    if (p.name === 'store') out.push([end - 8 * KiB, 160], [end - 4 * KiB, 160]);
  }
  return out;
}

/** Each command, whether it may change the image, and the exit codes it may end with. */
const COMMANDS: { args: (img: string) => string[]; writes: boolean; allowed: number[] }[] = [
  { args: (img) => ['inspect', img], writes: false, allowed: [0, 3, 4] },
  { args: (img) => ['inspect', img, '--json'], writes: false, allowed: [0, 3, 4] },
  { args: (img) => ['status', img, '--json'], writes: false, allowed: [0, 3] },
  { args: (img) => ['coredump', img], writes: false, allowed: [0, 3] },
  { args: (img) => ['config', img, 'get'], writes: false, allowed: [0, 3] },
  { args: (img) => ['config', img, 'set', 'hostname=fuzz'], writes: true, allowed: [0, 3] },
  { args: (img) => ['mark-good', img], writes: true, allowed: [0, 3] },
  { args: (img) => ['rollback', img], writes: true, allowed: [0, 3] },
  { args: (img) => ['coredump', img, '--clear'], writes: true, allowed: [0, 3] },
  { args: (img) => ['upgrade', img, fx.bundle, '--quiet'], writes: true, allowed: [0, 3] },
];

test(`damaged images: documented exit codes, no hang, no change on refusal (seed ${FUZZ_SEED}, ${ROUNDS} cases)`, async () => {
  const next = rng(FUZZ_SEED ^ 0x1a6e);
  const areas = regions();
  const cases = Array.from({ length: ROUNDS }, (_, i) => {
    const damage: Damage[] = [];
    for (let n = 1 + (next() % 3); n > 0; n--) {
      const [start, length] = areas[next() % areas.length]!;
      const at = start + (next() % length);
      const bytes: number[] = [];
      for (let k = 0, len = 1 + (next() % 8); k < len && at + k < fx.bytes.length; k++) bytes.push(next() & 0xff);
      damage.push({ at, bytes: Buffer.from(bytes) });
    }
    return { i, damage, command: COMMANDS[i % COMMANDS.length]! };
  });
  const limit = limiter(2);
  const outcomes: Outcome[] = [];
  const problems: string[] = [];
  await Promise.all(cases.map(({ i, damage, command }) => limit(async () => {
    const caseDir = join(dir, `case-${i}`);
    const img = join(caseDir, 'disk.img');
    await mkdir(caseDir);
    await writeDamagedCopy(fx.image, img, damage);
    const o = await runCase(command.args(img), { cwd: caseDir, timeoutMs: 60_000 });
    outcomes.push(o);
    const what = `case ${i} (${o.args.join(' ')})`;
    const bad = judge(o, command.allowed);
    if (bad) problems.push(`${what}: ${bad}`);
    if ((!command.writes || o.exitCode !== 0) && !(await sameAsDamaged(img, fx.bytes, damage))) problems.push(`${what}: exit ${o.exitCode} but the image changed`);
    const left = (await readdir(caseDir)).filter((f) => f !== 'disk.img');
    if (left.length) problems.push(`${what}: left ${left.join(', ')} beside the image`);
  })));
  console.log(`fuzz images (seed ${FUZZ_SEED}): ${outcomes.length} cases: ${tally(outcomes)}`);
  assert.equal(problems, [], problems.join('\n'));
});

test('the undamaged image passes every command (the campaign\'s control)', async () => {
  const img = join(dir, 'control.img');
  await copyFile(fx.image, img);
  for (const c of COMMANDS) {
    const o = await runCase(c.args(img), { cwd: dir, timeoutMs: 60_000 });
    assert.is(o.exitCode, 0, `${o.args.join(' ')}: ${o.stderr}`);
  }
});

test.after(cleanup);
test.run();
