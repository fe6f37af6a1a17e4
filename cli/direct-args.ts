// The command lines bankforge runs without yargs: `status TARGET`, `rollback TARGET`,
// `mark-good TARGET`, each with or without --json after the target. Loading and running yargs
// costs `bankforge status` more than reading the image does (docs/performance.md), and scripts run
// these lines often. The launcher asks this module (through cli/launch.ts) which bundle to load
// (docs/architecture.md, "How the CLI starts").

/** Commands that take one target and no option but --json. */
export const DIRECT_NAMES: readonly string[] = ['status', 'rollback', 'mark-good'];

/** What yargs reads a direct line as (cli/command-shapes.ts' definitions, with their defaults). */
export interface DirectArgs { _: string[]; quiet: false; q: false; debug: false; json: boolean; target: string; $0: 'bankforge' }

/**
 * The object yargs makes of a direct line, made without yargs; undefined for any other line, even
 * one yargs reads the same way. test/cli/direct-args.test.ts checks both halves against yargs.
 */
export function directArgs(argv: readonly string[]): DirectArgs | undefined {
  // --json only after the target: in front of it, yargs reads a target of `true` or `false` as its value.
  const [name, target, flag, ...more] = argv;
  if (name === undefined || !DIRECT_NAMES.includes(name) || target === undefined || more.length > 0) return undefined;
  // yargs reads a last word `help` as --help: `status help` is status's help, not a target.
  if (target === '' || target === 'help' || target.startsWith('-') || (flag !== undefined && flag !== '--json')) return undefined;
  return { _: [name], quiet: false, q: false, debug: false, json: flag !== undefined, target, $0: 'bankforge' };
}
