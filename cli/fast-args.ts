// The plainest lines of every command, read without yargs: the command, its positionals, then
// long options that are flags or plain words (`flash esxi.img /dev/sdb --yes`, `build --out x.img
// --version 1.2.0`, `upgrade /dev/sdb 1.3.0.bfb --json`). Setting up and running yargs cost such
// a line ~8 ms on these machines (medians of 40: `inspect IMAGE --json` 123 -> 109 ms), more
// than some commands' work; this reads it from the same table yargs is given
// (cli/command-shapes.ts). Anything else goes to yargs, whose help and errors are the CLI's: a
// short or other alias (-y, --cmdline), --no-x, --flag=value, an option twice, an option before a
// positional, a missing or empty word where a value is due, a word starting with '-' or the word
// `help` there, a quoted --k="value" (yargs takes the quotes off), a value outside an option's
// choices, a missing required option, and any option or positional whose definition asks yargs
// for more than a name, an alias, a string or a flag and a default (a number, a list, implies,
// optional positionals: config). test/cli/fast-args.test.ts holds every kind against yargs.

import type { Options, PositionalOptions } from 'yargs';
import { COMMAND_SHAPES, GLOBAL_OPTIONS, commandNamed } from './command-shapes.js';

/** What yargs makes of a line: every option under its name, its camelCase name and its aliases. */
export type ParsedArgs = Record<string, unknown> & { _: (string | number)[] };

/**
 * The settings this reads as yargs does; an option or positional with any other (normalize,
 * coerce, a number type, a list, implies...) is left to yargs, so a setting added to the table
 * later cannot be read differently here.
 */
const PLAIN_OPTION = new Set(['alias', 'type', 'default', 'describe', 'demandOption', 'choices']);
const PLAIN_POSITIONAL = new Set(['type', 'describe', 'demandOption']);

/** 'flag' or 'word' for an option this reads, undefined for one left to yargs. */
export function plainOption(spec: Options): 'flag' | 'word' | undefined {
  if (!Object.keys(spec).every((k) => PLAIN_OPTION.has(k))) return undefined;
  return spec.type === 'boolean' ? 'flag' : spec.type === 'string' ? 'word' : undefined;
}

const plainPositional = (spec: PositionalOptions): boolean =>
  Object.keys(spec).every((k) => PLAIN_POSITIONAL.has(k)) && spec.type === 'string' && spec.demandOption === true;

const camelCase = (name: string): string => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** A positional's or an option's value yargs would take as it is. */
const plainWord = (w: string | undefined): w is string => w !== undefined && w !== '' && !w.startsWith('-') && w !== 'help';

function put(out: Record<string, unknown>, name: string, spec: Options, value: unknown): void {
  out[name] = value;
  out[camelCase(name)] = value;
  for (const alias of spec.alias === undefined ? [] : [spec.alias].flat()) out[alias] = value;
}

/** The object yargs makes of `argv`, made without it; undefined for any line this does not read. */
export function fastArgs(argv: readonly string[]): ParsedArgs | undefined {
  const [first, ...words] = argv;
  const name = commandNamed(first);
  if (!name) return undefined;
  const shape = COMMAND_SHAPES[name];
  if (!shape.positionals.every((p) => plainPositional(p.spec))) return undefined;
  const options: Readonly<Record<string, Options>> = { ...GLOBAL_OPTIONS, ...shape.options };
  const out: ParsedArgs = { _: [name] };
  for (const [key, spec] of Object.entries(options)) if (spec.default !== undefined) put(out, key, spec, spec.default);

  let i = 0;
  for (const p of shape.positionals) {
    const w = words[i++];
    if (!plainWord(w)) return undefined;
    out[p.name] = w;
  }
  const given = new Set<string>();
  while (i < words.length) {
    const w = words[i++]!;
    if (!w.startsWith('--')) return undefined;
    const eq = w.indexOf('=');
    const key = eq < 0 ? w.slice(2) : w.slice(2, eq);
    if (!Object.hasOwn(options, key) || given.has(key)) return undefined;
    given.add(key);
    const spec = options[key]!;
    const kind = plainOption(spec);
    if (kind === 'flag' && eq < 0) {
      put(out, key, spec, true);
      continue;
    }
    if (kind !== 'word') return undefined;
    const value = eq < 0 ? words[i++] : w.slice(eq + 1);
    if (!plainWord(value) || (spec.choices !== undefined && ![spec.choices].flat().includes(value))) return undefined;
    // yargs takes the quotes off a value given as --k="x" or --k='x' (not as --k "x").
    if (eq >= 0 && /^(["'])[\s\S]*\1$/.test(value)) return undefined;
    put(out, key, spec, value);
  }
  if (Object.entries(shape.options).some(([key, spec]) => spec.demandOption && !given.has(key))) return undefined;
  out.$0 = 'bankforge';
  return out;
}
