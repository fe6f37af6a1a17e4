// What the launcher (bin/bankforge.js) decides before it loads any of the CLI, bundled on its own
// as launch.cjs: print the saved top-level help (cli/static-help.ts), load the small bundle that
// runs the direct lines (cli/direct-args.ts), or load the whole CLI.

import { directArgs } from './direct-args.js';
import { staticHelp } from './static-help.js';

/** The launcher prints the saved help as the commands print their output. */
export { printOut, settleOutput } from './stdout.js';

export type Launch = { help: string } | { bundle: 'direct' | 'main' };

export function launch(argv: string[]): Launch {
  const help = staticHelp(argv);
  if (help !== undefined) return { help };
  return { bundle: directArgs(argv) ? 'direct' : 'main' };
}
