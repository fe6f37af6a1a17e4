// Hostile layouts (issue 15's campaign, kept in the suite): the tiny fixture layout with one to
// three of its fields replaced by hostile values (wrong types, prototype keys, sizes at and past
// every limit, paths that escape, deep nesting) or its text mutated, given to `bankforge build`.
// Each build must end by itself with 0 or 3 (never 1, never a signal), and a refused one must
// leave nothing beside the layout: no image, no manifest, no partial file.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FUZZ_SEED, fuzzRounds, judge, mutate, rng, runCase, tally, type Outcome } from '../helpers/fuzz.js';
import { limiter } from '../helpers/limit.js';
import { scratch } from '../helpers/tools.js';
import { TINY_LAYOUT } from './fixture.js';

const { dir, cleanup } = await scratch('bankforge-fuzz-layouts-');
const ROUNDS = fuzzRounds(30);

const deep = (n: number): unknown => { let v: unknown = 1; for (let i = 0; i < n; i++) v = [v]; return v; };
const HOSTILE: unknown[] = [
  -1, 0, 1, 0.5, 1e300, Number.MAX_SAFE_INTEGER, '', ' ', 'fill', '0MiB', '1B', '511B', '513B', '1MB', '3MiB', '64MiB', '16TiB', '1EiB',
  '__proto__', 'constructor', 'toString', 'hasOwnProperty', null, true, [], {}, ['toString'], { __proto__: null, x: 1 },
  '../../../etc/passwd', '/dev/null', '/proc/self/mem', 'etc', 'EFI/BOOT', 'a'.repeat(300), '\u0000', '\u001b[2J', 'ESP', 'esp',
  '00000000-0000-0000-0000-000000000000', 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', 'A', 'B', 'C', deep(50),
];

type Json = Record<string, unknown> | unknown[];

/** Every path to a value in the layout, e.g. ['partitions', 1, 'size']. */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== 'object') return [at];
  const keys: (string | number)[] = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return [at, ...keys.flatMap((k) => paths((v as Record<string | number, unknown>)[k], [...at, k]))];
}

function hostileLayout(next: () => number): string {
  if (next() % 5 === 0) return mutate(Buffer.from(JSON.stringify(TINY_LAYOUT)), next).toString('latin1');
  const layout = JSON.parse(JSON.stringify(TINY_LAYOUT)) as Json;
  for (let n = 1 + (next() % 3); n > 0; n--) {
    const all = paths(layout).filter((p) => p.length > 0);
    const path = all[next() % all.length]!;
    const parent = path.slice(0, -1).reduce<any>((o, k) => o[k], layout);
    const key = path.at(-1)!;
    switch (next() % 4) {
      case 0: delete parent[key]; break;
      case 1: if (!Array.isArray(parent)) parent[['__proto__', 'constructor', 'extra', 'toString'][next() % 4]!] = HOSTILE[next() % HOSTILE.length]; break;
      default: parent[key] = HOSTILE[next() % HOSTILE.length];
    }
  }
  return JSON.stringify(layout);
}

test(`hostile layouts: build exits 0 or 3, a refusal leaves nothing (seed ${FUZZ_SEED}, ${ROUNDS} cases)`, async () => {
  const next = rng(FUZZ_SEED ^ 0x1a70);
  const layouts = Array.from({ length: ROUNDS }, () => hostileLayout(next));
  const limit = limiter(2);
  const outcomes: Outcome[] = [];
  const problems: string[] = [];
  await Promise.all(layouts.map((text, i) => limit(async () => {
    const caseDir = join(dir, `case-${i}`);
    await mkdir(caseDir);
    await writeFile(join(caseDir, 'layout.json'), text);
    const o = await runCase(['build', '--layout', 'layout.json', '--out', 'out.img', '--quiet'], { cwd: caseDir, timeoutMs: 90_000 });
    outcomes.push(o);
    const what = `case ${i} (${text.slice(0, 300)})`;
    const bad = judge(o, [0, 3]);
    if (bad) problems.push(`${what}: ${bad}`);
    const left = (await readdir(caseDir)).filter((f) => f !== 'layout.json');
    if (o.exitCode !== 0 && left.length) problems.push(`${what}: refused but left ${left.join(', ')}`);
  })));
  console.log(`fuzz layouts (seed ${FUZZ_SEED}): ${outcomes.length} cases: ${tally(outcomes)}`);
  assert.equal(problems, [], problems.join('\n'));
});

test.after(cleanup);
test.run();
