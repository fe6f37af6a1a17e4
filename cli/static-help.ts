// `bankforge --help` without loading the CLI: scripts/bundle-cli.mjs runs yargs once at build time
// and leaves what it printed as help.txt beside the bundle, with this module bundled into launch.cjs;
// the launcher prints the text when yargs would print the same bytes (test/cli/help.test.ts runs
// yargs and compares). Loading the CLI and running yargs for the top-level help cost more than
// all of Node's start-up beyond `node -e 0`. Without a current bundle, when the terminal is
// narrower, or in a locale yargs translates its words for, yargs prints the help as before.

import { fstatSync, readFileSync } from 'node:fs';

/** The width yargs wraps the help at when the terminal is at least this wide, or not a terminal. */
export const HELP_WIDTH = 110;

/** Locales (as yargs reads them from the environment) for which yargs' words stay English. */
export const ENGLISH_LOCALES: readonly string[] = ['C', 'POSIX', 'en', 'en_US'];

/**
 * The terminal's width when stdout is one. process.stdout is made only then: on a pipe it is a
 * socket stream, which makes the pipe non-blocking (cli/stdout.ts would wait on it a millisecond at
 * a time) and costs milliseconds to make. A character device that is not a terminal (/dev/null)
 * gets a file stream, which has no columns.
 */
export function terminalColumns(): number | undefined {
  try {
    if (!fstatSync(1).isCharacterDevice()) return undefined;
  } catch {
    return undefined;
  }
  return process.stdout.columns;
}

/** The locale yargs picks from the environment, the way yargs does. */
export function yargsLocale(env: NodeJS.ProcessEnv): string {
  return (env.LC_ALL || env.LC_MESSAGES || env.LANG || env.LANGUAGE || 'en_US').replace(/[.:].*/, '');
}

/** The built help text when `argv` asks for the top-level help and yargs would print exactly it. */
export function staticHelp(argv: string[]): string | undefined {
  if (argv.length !== 1 || (argv[0] !== '--help' && argv[0] !== '-h')) return undefined;
  const columns = terminalColumns();
  if (columns && columns < HELP_WIDTH) return undefined;
  if (!ENGLISH_LOCALES.includes(yargsLocale(process.env))) return undefined;
  try {
    return readFileSync(new URL('help.txt', import.meta.url), 'utf8');
  } catch {
    return undefined;
  }
}
