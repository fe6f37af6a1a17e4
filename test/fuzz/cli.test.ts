// Hostile command lines (issue 15's campaign, kept in the suite): random commands, options and
// values, with paths that name the fixture's image and bundle, a directory, a FIFO, an empty
// file, a missing file and text. Each run must end by itself with a documented code for bad
// usage or input (0, 2, 3 or 4), never 1 or a signal, and may write only inside its own
// directory. `run` (QEMU) and `flash` (devices) are left out: their refusals have suites of
// their own, and a random flash command line is not something to run on a developer's machine.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FUZZ_SEED, fuzzRounds, judge, rng, runCase, tally, type Outcome } from '../helpers/fuzz.js';
import { limiter } from '../helpers/limit.js';
import { mustRun, scratch } from '../helpers/tools.js';
import { fixture } from './fixture.js';

const { dir, cleanup } = await scratch('bankforge-fuzz-cli-');
const fx = await fixture(dir);
const ROUNDS = fuzzRounds(40);

/** Each command's positionals and options: the shape is mostly right, so the values get tested. */
const COMMANDS: Record<string, { positionals: number; options: string[] }> = {
  build: { positionals: 0, options: ['--layout', '--out', '--version', '--sector-size', '--seed', '--kernelopt', '--boot-timeout', '--watchdog', '--format', '--json'] },
  inspect: { positionals: 1, options: ['--json', '--sector-size'] },
  bundle: { positionals: 0, options: ['-V', '-o', '--layout', '--sign', '--kernelopt', '--boot-timeout', '--watchdog', '--json'] },
  upgrade: { positionals: 2, options: ['--pubkey', '--tries', '--force', '--json'] },
  status: { positionals: 1, options: ['--json'] },
  rollback: { positionals: 1, options: [] },
  'mark-good': { positionals: 1, options: [] },
  coredump: { positionals: 1, options: ['--seq', '--all', '--kernel', '--log-lines', '--json', '--extract', '--clear'] },
  config: { positionals: 3, options: ['--json'] },
  devices: { positionals: 0, options: ['--json'] },
};
const FLAGS = new Set(['--json', '--force', '--all', '--clear']);
/** Relative to each case's directory, which holds copies of the fixture's files and odd ones. */
const VALUES = ['disk.img', 'x.bfb', 'tiny.json', 'dir', 'fifo', 'empty', 'text', 'missing', '', '-1', '0', '4096', '1e309', 'NaN', '15', '16',
  'get', 'set', 'hostname=x', 'constructor=x', '__proto__', 'toString', 'raw,xz', 'vmdk', 'out.img', 'dir/x', '\u001b[2J', 'a'.repeat(5000)];

function argv(next: () => number): string[] {
  const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length]!;
  const command = pick(Object.keys(COMMANDS));
  const spec = COMMANDS[command]!;
  const args = [command];
  for (let n = 0; n < spec.positionals; n++) args.push(pick(VALUES));
  for (let n = next() % 4; n > 0 && spec.options.length; n--) {
    const o = pick(spec.options);
    args.push(o);
    if (!FLAGS.has(o)) args.push(pick(VALUES));
  }
  if (next() % 8 === 0) args.push(pick(['--no-such', '--help', '--version', '--debug', '--quiet']));
  return args;
}

test(`hostile command lines: 0, 2, 3 or 4, never 1, nothing written outside (seed ${FUZZ_SEED}, ${ROUNDS} cases)`, async () => {
  const next = rng(FUZZ_SEED ^ 0xc11);
  const cases = Array.from({ length: ROUNDS }, () => argv(next));
  const limit = limiter(2);
  const outcomes: Outcome[] = [];
  const problems: string[] = [];
  const before = await readdir(dir);
  await Promise.all(cases.map((args, i) => limit(async () => {
    const caseDir = join(dir, `case-${i}`);
    await mkdir(join(caseDir, 'dir'), { recursive: true });
    await copyFile(fx.image, join(caseDir, 'disk.img'));
    await copyFile(fx.bundle, join(caseDir, 'x.bfb'));
    await copyFile(fx.layout, join(caseDir, 'tiny.json'));
    await writeFile(join(caseDir, 'empty'), '');
    await writeFile(join(caseDir, 'text'), 'not an image\n');
    await mustRun('mkfifo', [join(caseDir, 'fifo')]);
    const o = await runCase(args, { cwd: caseDir, timeoutMs: 90_000 });
    outcomes.push(o);
    const bad = judge(o, [0, 2, 3, 4]);
    if (bad) problems.push(`case ${i} (bankforge ${JSON.stringify(args.map((a) => (a.length > 60 ? `${a.slice(0, 60)}...` : a)))}): ${bad.slice(0, 400)}`);
  })));
  const after = await readdir(dir);
  if (after.length !== before.length + cases.length) problems.push(`files appeared beside the cases: ${after.filter((f) => !before.includes(f) && !/^case-\d+$/.test(f)).join(', ')}`);
  console.log(`fuzz command lines (seed ${FUZZ_SEED}): ${outcomes.length} cases: ${tally(outcomes)}`);
  assert.equal(problems, [], problems.join('\n'));
});

test.after(cleanup);
test.run();
