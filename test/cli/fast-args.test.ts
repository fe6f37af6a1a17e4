// cli/fast-args.ts reads the plainest lines of every command without yargs: the object it makes
// must be the one yargs makes of the same line, for every command, option and kind of value, and
// every other kind of line must still go to yargs. The lines are made from the table both read
// (cli/command-shapes.ts), so an option added there is held against yargs here at once.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Options } from 'yargs';
import { COMMAND_SHAPES, GLOBAL_OPTIONS } from '../../cli/command-shapes.js';
import { fastArgs, plainOption } from '../../cli/fast-args.js';
import { parseWithYargs } from '../../cli/main.js';

/** Values yargs might read as something else than the word: numbers, booleans, '=', paths it could normalize, spaces, non-ASCII. */
const WORDS = ['x.img', '/dev/sdb', 'a//b/../c.img', './x', 'a b', '1e5', '0x10', '3', 'true', 'k=v', 'é.img'];

/** Values for an option or positional: its choices when it has them. */
const valuesOf = (spec: { choices?: unknown }): string[] => (spec.choices === undefined ? WORDS : [spec.choices].flat().map(String));

const read: string[][] = [];
for (const [name, shape] of Object.entries(COMMAND_SHAPES)) {
  if (shape.positionals.some((p) => !p.spec.demandOption)) continue;
  const options: Record<string, Options> = { ...GLOBAL_OPTIONS, ...shape.options };
  const positionals = shape.positionals.map((p, k) => valuesOf(p.spec)[k % valuesOf(p.spec).length]!);
  const required = Object.entries(shape.options).filter(([, s]) => s.demandOption).flatMap(([k]) => [`--${k}`, 'v1']);
  const base = [name, ...positionals, ...required];
  read.push(base);
  for (const p of shape.positionals) for (const v of valuesOf(p.spec)) read.push([name, ...shape.positionals.map((q, k) => (q === p ? v : positionals[k]!)), ...required]);
  const every: string[][] = [];
  for (const [key, spec] of Object.entries(options)) {
    if (spec.demandOption) continue;
    const kind = plainOption(spec);
    if (kind === 'flag') {
      read.push([...base, `--${key}`]);
      every.push([`--${key}`]);
    } else if (kind === 'word') {
      for (const v of valuesOf(spec)) read.push([...base, `--${key}`, v], [...base, `--${key}=${v}`]);
      // yargs takes matching quotes off an --k=value only: there they are left to it (below).
      if (spec.choices === undefined) read.push([...base, `--${key}=a=b`], [...base, `--${key}="x'`], [...base, `--${key}="`], [...base, `--${key}`, '"x"']);
      every.push([`--${key}`, valuesOf(spec)[0]!]);
    }
  }
  read.push([...base, ...every.flat()], [name, ...positionals, ...every.reverse().flat(), ...required]);
}

test('lines of every kind are read: every command but config, every plain option', () => {
  const commands = new Set(read.map((l) => l[0]));
  assert.equal([...commands].sort(), Object.keys(COMMAND_SHAPES).filter((c) => c !== 'config').sort());
  assert.ok(read.length > 200, `${read.length} lines`);
});

for (const argv of read) {
  test(`${JSON.stringify(argv)}: what yargs makes of it`, async () => {
    const fast = fastArgs(argv);
    assert.ok(fast, 'read without yargs');
    const yargs = await parseWithYargs(argv);
    assert.is(yargs.help, '', 'yargs would print help for this line');
    assert.equal(fast, yargs.args);
  });
}

// Lines yargs reads otherwise, refuses with its own message, or answers with help.
const declined: string[][] = [
  [], ['bogus'], ['--json', 'inspect', 'x.img'], ['inspect'], ['inspect', ''], ['inspect', '-'], ['inspect', '--', 'x.img'], ['inspect', 'help'],
  ['inspect', 'a', 'b'], ['inspect', '--json', 'x.img'], ['inspect', 'x.img', '--help'], ['inspect', 'x.img', '-h'], ['inspect', 'x.img', 'help'],
  ['inspect', 'x.img', '--json', '--json'], ['inspect', 'x.img', '--json=true'], ['inspect', 'x.img', '--no-json'], ['inspect', 'x.img', '-q'],
  ['inspect', 'x.img', '--sector-size', '4096'], ['inspect', 'x.img', '--sectorSize', '512'], ['inspect', 'x.img', '--bogus'],
  ['flash', 'x.img', '/dev/sdb', '-y'], ['flash', 'x.img', '/dev/sdb', '--no-verify'], ['flash', 'x.img'],
  ['build', '--out'], ['build', '--out', ''], ['build', '--out='], ['build', '--out', '-x.img'], ['build', '--out', 'help'], ['build', '--out', '--json'],
  ['build', '--cmdline', 'x'], ['build', '-o', 'x.img'], ['build', '--format', 'raw,xz'], ['build', '--initrd', 'i.img'], ['build', '--sector-size', '4096'],
  ['build', '--out', 'a.img', '--out', 'b.img'], ['build', 'extra'],
  ['build', '--out="x.img"'], ["build", "--out='x.img'"], ['build', '--version=""'], ['run', 'x.img', '--expect="a b"'],
  ['bundle', '--out', 'b.bfb'], ['bundle', '--version', '1.0.0'],
  ['run', 'x.img', '--bus', 'scsi'], ['run', 'x.img', '--timeout', '5'],
  ['config', 'x.img', 'get'], ['config', 'x.img', 'set', 'hostname=a'],
];
for (const argv of declined) {
  test(`${JSON.stringify(argv)}: left to yargs`, () => {
    assert.is(fastArgs(argv), undefined);
  });
}

test('an option or positional that asks yargs for more than a name, alias, string or flag and default is left to it', () => {
  assert.is(plainOption({ type: 'string', alias: 'o', default: 'x', describe: 'd', demandOption: true, choices: ['x'] }), 'word');
  assert.is(plainOption({ type: 'boolean', default: false }), 'flag');
  for (const spec of [{ type: 'string', normalize: true }, { type: 'string', coerce: String }, { type: 'string', array: true }, { type: 'string', implies: 'x' },
    { type: 'number' }, { type: 'count' }, { type: 'string', requiresArg: true }] as Options[]) {
    assert.is(plainOption(spec), undefined, JSON.stringify(spec));
  }
});

test.run();
