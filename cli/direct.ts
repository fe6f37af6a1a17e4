// The direct lines' commands (cli/direct-args.ts), run without yargs. This is the entry of the
// small bundle the launcher loads for those lines (scripts/bundle-cli.mjs: direct.cjs, with its
// own code cache), and cli/main.ts runs them through it too, so both take one path.

import { directArgs } from './direct-args.js';
import { report } from './report.js';
import { settleOutput } from './stdout.js';

/** Each direct command's module, loaded when it runs; cli/main.ts' command table includes these. */
export const DIRECT_COMMANDS = {
  status: () => import('./commands/status.js'),
  rollback: () => import('./commands/rollback.js'),
  'mark-good': () => import('./commands/mark-good.js'),
} satisfies Record<string, () => Promise<{ run(a: unknown): Promise<void> }>>;

/**
 * Whether `argv` is a line this bundle runs: the launcher, which loads it for any line that starts
 * with one of the direct commands' names, asks this before it runs one.
 */
export function runs(argv: string[]): boolean {
  return directArgs(argv) !== undefined;
}

/** Runs a direct line; the caller has checked that `argv` is one. */
export async function main(argv: string[]): Promise<void> {
  const args = directArgs(argv);
  try {
    const name = args?._[0];
    if (!args || name === undefined || !Object.hasOwn(DIRECT_COMMANDS, name)) throw new Error(`not a direct command line: ${JSON.stringify(argv)}`);
    await (await DIRECT_COMMANDS[name as keyof typeof DIRECT_COMMANDS]()).run(args);
  } catch (e) {
    process.exitCode = report(e, false, args?.json ?? false);
  } finally {
    settleOutput();
  }
}
