// `bankforge --help` without loading the CLI: scripts/bundle-cli.mjs runs yargs once at build time
// and leaves what it printed as help.txt beside the bundle, with this module bundled into launch.cjs;
// the launcher prints the text when yargs would print the same bytes (test/cli/help.test.ts runs
// yargs and compares). Loading the CLI and running yargs for the top-level help cost more than
// all of Node's start-up beyond `node -e 0`. Without a current bundle, when the terminal is
// narrower, or in a locale yargs translates its words for, yargs prints the help as before.

import { readFileSync } from 'node:fs';

/** The width yargs wraps the help at when the terminal is at least this wide, or not a terminal. */
export const HELP_WIDTH = 110;

/** Locales (as yargs reads them from the environment) for which yargs' words stay English. */
export const ENGLISH_LOCALES: readonly string[] = ['C', 'POSIX', 'en', 'en_US'];

/** The locale yargs picks from the environment, the way yargs does. */
export function yargsLocale(env: NodeJS.ProcessEnv): string {
  return (env.LC_ALL || env.LC_MESSAGES || env.LANG || env.LANGUAGE || 'en_US').replace(/[.:].*/, '');
}

/** The built help text when `argv` asks for the top-level help and yargs would print exactly it. */
export function staticHelp(argv: string[]): string | undefined {
  if (argv.length !== 1 || (argv[0] !== '--help' && argv[0] !== '-h')) return undefined;
  const columns = process.stdout.columns;
  if (columns && columns < HELP_WIDTH) return undefined;
  if (!ENGLISH_LOCALES.includes(yargsLocale(process.env))) return undefined;
  try {
    return readFileSync(new URL('help.txt', import.meta.url), 'utf8');
  } catch {
    return undefined;
  }
}
