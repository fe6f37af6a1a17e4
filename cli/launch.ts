// What the launcher (bin/bankforge.js) decides before it loads any of the CLI, bundled on its own
// as launch.cjs: print the saved top-level help (cli/static-help.ts), load the small bundle that
// runs the direct lines (cli/direct-args.ts), or load the whole CLI, for a build with the code
// cache made by building (scripts/bundle-cli.mjs).

import { directArgs } from './direct-args.js';
import { staticHelp } from './static-help.js';

/** The launcher prints the saved help as the commands print their output. */
export { printOut, settleOutput } from './stdout.js';

/**
 * `cache`: the code cache to load main.cjs with, when not main.cache. A build's own holds what a
 * build compiles and leaves out the other commands' code: the 20 MB bench build ~5-6 ms sooner
 * (docs/performance.md, thirteenth session).
 */
export type Launch = { help: string } | { bundle: 'direct' } | { bundle: 'main'; cache?: 'main-build' };

export function launch(argv: string[]): Launch {
  const help = staticHelp(argv);
  if (help !== undefined) return { help };
  if (directArgs(argv)) return { bundle: 'direct' };
  return argv[0] === 'build' ? { bundle: 'main', cache: 'main-build' } : { bundle: 'main' };
}
