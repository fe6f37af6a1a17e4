// Hostile input to bankforge-state, the mark-good tool a stock Linux runs (linuxtool/,
// docs/linux.md), built for the host with ASan and UBSan: damaged GPTs and state records on the
// disk, mangled loader words on the command line and in the EFI variable. Each run must end by
// itself with a documented exit code (0, 3 or 4; never a sanitizer report, which exits 1, never
// a signal), say why when it refuses, leave the disk byte-identical when it refuses, and when it
// does write, write nowhere but the two banks' state areas, wherever a damaged GPT points.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STATE } from '../../partitions/bankstate.js';
import { STATE_TOOL_FLAGS } from '../../builder/pipeline/state-tool.js';
import { compileHost } from '../helpers/c-host.js';
import { FUZZ_SEED, fuzzRounds, mutate, rng } from '../helpers/fuzz.js';
import { changedSectors, writeDamagedCopy, type Damage } from '../helpers/damaged-copy.js';
import { limiter } from '../helpers/limit.js';
import { scratch } from '../helpers/tools.js';
import { fixture } from './fixture.js';

const { dir, cleanup } = await scratch('bankforge-fuzz-state-tool-');
const SOURCES = ['linuxtool/main.c', 'linuxtool/statetool.c', 'common/bankstate.c', 'common/bootident.c', 'common/gpt.c', 'common/crc32.c', 'common/fmt.c'];
const tool = await compileHost(join(dir, 'bankforge-state'), SOURCES, { flags: STATE_TOOL_FLAGS.filter((f) => !f.startsWith('-O') && !f.startsWith('-I') && !f.startsWith('-std')) });
const fx = await fixture(dir);
const ROUNDS = fuzzRounds(60);
const EFIVAR = 'firmware/efi/efivars/BankforgeBoot-b6e1c4a2-7d3f-4e51-9a08-2c4b5d6e7f80';
const COMMANDS = ['status', 'mark-good', 'rollback'] as const;

const part = (name: string) => fx.manifest.partitions.find((p) => p.name === name)!;
const words = `bankforge.bank=A bankforge.disk=${fx.manifest.diskGuid} bankforge.part=${part('bootbank').guid}`;
/** [start, end) of the two state areas: the only bytes the tool may ever change. */
const stateAreas = ['bootbank', 'altbootbank'].map((n) => { const p = part(n); return [p.offset + p.size - STATE.areaSize, p.offset + p.size] as const; });

/** Where damage makes a parser decide: both GPT headers and first entries, both banks' state slots. */
function regions(): [number, number][] {
  const ss = fx.manifest.sectorSize, size = fx.manifest.diskSize;
  return [[ss, 92], [2 * ss, 4 * 128], [size - ss, 92], [size - ss - 32 * 512, 4 * 128],
    ...stateAreas.flatMap(([s]) => [[s, 256], [s + STATE.areaSize / 2, 256]] as [number, number][])];
}

/** A case's disk: the fixture's bytes with `damage` written over them (none for most cases). */
interface Case { name: string; damage: Damage[]; args: string[]; files: Record<string, Buffer> }

function makeCase(i: number, next: () => number): Case {
  const cmd = COMMANDS[next() % COMMANDS.length]!;
  const files: Record<string, Buffer> = {};
  const damage: Case['damage'] = [];
  let source: string[];
  switch (i % 3) {
    case 0: { // a damaged disk, good words
      const areas = regions();
      for (let n = 1 + (next() % 3); n > 0; n--) {
        const [start, len] = areas[next() % areas.length]!;
        const at = start + (next() % len);
        const bytes: number[] = [];
        for (let k = 1 + (next() % 8); k > 0 && at + k < fx.bytes.length; k--) bytes.push(next() & 0xff);
        // Drawn for bytes at + k, k from the count down to 1.
        damage.push({ at: at + 1, bytes: Buffer.from(bytes.reverse()) });
      }
      files['cmdline'] = Buffer.from(words);
      source = ['--cmdline', 'cmdline'];
      break;
    }
    case 1: // mangled words on the command line
      files['cmdline'] = mutate(Buffer.from(`console=ttyS0 ${words} quiet\n`), next);
      source = ['--cmdline', 'cmdline'];
      break;
    default: // a mangled EFI variable (4 attribute bytes, then the words); read when the
      // command line has no words: this host's /proc/cmdline, as for the suite's other EFI test
      files[join('sys', EFIVAR)] = mutate(Buffer.concat([Buffer.from([6, 0, 0, 0]), Buffer.from(words)]), next);
      source = ['--sys', 'sys'];
  }
  return { name: `case-${i}`, damage, files, args: [...source, '--disk', 'disk.img', cmd] };
}

/** How each run ended, for the campaign's closing line. */
const endings = new Map<string, number>();

/** The first problem with one run, or undefined. */
async function check(c: Case): Promise<string | undefined> {
  const at = join(dir, c.name);
  await mkdir(at, { recursive: true });
  for (const [f, bytes] of Object.entries(c.files)) {
    await mkdir(join(at, f, '..'), { recursive: true });
    await writeFile(join(at, f), bytes);
  }
  await writeDamagedCopy(fx.image, join(at, 'disk.img'), c.damage);
  const r = await execa(tool, c.args, { cwd: at, reject: false, timeout: 20_000, env: { ASAN_OPTIONS: 'detect_leaks=0' } });
  const what = `${c.name} (${c.args.join(' ')})`;
  const ending = `${['damaged disk', 'mangled words', 'mangled EFI variable'][Number(c.name.slice(5)) % 3]} ${c.args.at(-1)}: exit ${r.exitCode ?? r.signal}`;
  endings.set(ending, (endings.get(ending) ?? 0) + 1);
  if (r.timedOut) return `${what}: did not end within 20 s`;
  if (r.signal) return `${what}: killed by ${r.signal}: ${r.stderr.slice(0, 800)}`;
  if (![0, 3, 4].includes(r.exitCode!)) return `${what}: exit ${r.exitCode}, expected 0, 3 or 4: ${r.stderr.slice(0, 800)}`;
  if (r.exitCode !== 0 && !/^bankforge-state: \S/m.test(r.stderr)) return `${what}: exit ${r.exitCode} without a "bankforge-state: ..." message: ${r.stderr.slice(0, 300)}`;
  if (r.exitCode === 3 && c.args[0] === '--sys' && !/; EFI variable \S+BankforgeBoot-\S+: \S/.test(r.stderr)) return `${what}: the refusal does not say what is wrong with the EFI variable: ${r.stderr.slice(0, 300)}`;
  const changed = await changedSectors(join(at, 'disk.img'), fx.bytes, c.damage);
  if (changed === 'size') return `${what}: the disk's size changed`;
  if (changed.length && r.exitCode !== 0) return `${what}: exit ${r.exitCode} but sector at byte ${changed[0]} changed`;
  const outside = changed.find((o) => !stateAreas.some(([s, e]) => o >= s && o < e));
  if (outside !== undefined) return `${what}: wrote the sector at byte ${outside}, outside both state areas`;
  return undefined;
}

test(`hostile disks, command lines and EFI variables: bankforge-state exits 0, 3 or 4, refuses without writing, writes only state areas (seed ${FUZZ_SEED}, ${ROUNDS} cases)`, async () => {
  const next = rng(FUZZ_SEED ^ 0x57a7e);
  const cases = Array.from({ length: ROUNDS }, (_, i) => makeCase(i, next));
  const limit = limiter(2);
  const problems = (await Promise.all(cases.map((c) => limit(async () => {
    const problem = await check(c);
    if (!problem) await rm(join(dir, c.name), { recursive: true });
    return problem;
  })))).filter((p) => p !== undefined);
  console.log(`  bankforge-state campaign: ${[...endings].sort().map(([k, n]) => `${k} x${n}`).join(', ')}`);
  assert.equal(problems, [], problems.join('\n'));
});

test('a directory, a FIFO, an empty or a short file as the disk or the command line: refused at once with exit 3, nothing waits', async () => {
  const at = join(dir, 'kinds');
  await mkdir(join(at, 'dir'), { recursive: true });
  await execa('mkfifo', [join(at, 'fifo')]);
  await writeFile(join(at, 'empty'), '');
  await writeFile(join(at, 'short'), fx.bytes.subarray(0, 1000));
  await writeFile(join(at, 'cmdline'), words);
  await writeFile(join(at, 'disk.img'), fx.bytes);
  const cases: [string[], RegExp][] = [
    ...['mark-good', 'status'].flatMap((cmd) => [
      [['--cmdline', 'cmdline', '--disk', 'dir', cmd], /dir: not a block device or a disk image/],
      [['--cmdline', 'cmdline', '--disk', 'fifo', cmd], /fifo: not a block device or a disk image/],
    ] as [string[], RegExp][]),
    [['--cmdline', 'cmdline', '--disk', 'empty', 'status'], /empty: .*not a disk bankforge boots from/],
    [['--cmdline', 'cmdline', '--disk', 'short', 'status'], /short: .*not a disk bankforge boots from/],
    [['--cmdline', 'fifo', '--disk', 'disk.img', 'status'], /fifo: not a regular file/],
    [['--cmdline', 'dir', '--disk', 'disk.img', 'status'], /dir: not a regular file/],
  ];
  for (const [args, want] of cases) {
    const r = await execa(tool, args, { cwd: at, reject: false, timeout: 20_000 });
    assert.not.ok(r.timedOut, `${args.join(' ')} waited`);
    assert.is(r.exitCode, 3, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, want);
  }
  assert.ok((await readFile(join(at, 'disk.img'))).equals(fx.bytes));
});

test('the undamaged disk and the loader\'s words: status and mark-good succeed (the campaign\'s control)', async () => {
  const c: Case = { name: 'control', damage: [], files: { cmdline: Buffer.from(words) }, args: ['--cmdline', 'cmdline', '--disk', 'disk.img', 'status'] };
  assert.is(await check(c), undefined);
  const r = await execa(tool, c.args, { cwd: join(dir, 'control'), reject: false });
  assert.is(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /^booted: bank A$/m);
});

test.after(cleanup);
test.run();
