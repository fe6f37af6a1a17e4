// Progress for long commands: one line rewritten in place on a terminal, plain lines when
// stderr is a pipe or a CI log (so logs stay readable), nothing with --quiet.

import { terminalSafe } from './terminal-text.js';

export interface Progress {
  step(message: string): void;
  done(message: string): void;
}

export function makeProgress(opts: { quiet: boolean; stream?: NodeJS.WriteStream }): Progress {
  // Quiet first: Node makes process.stderr on first use (a socket on a pipe, loading node:net: ~1-2
  // ms), and the launcher then waits for it to drain before it exits.
  if (opts.quiet) return { step() {}, done() {} };
  const out = opts.stream ?? process.stderr;
  if (out.isTTY) {
    let shown = false;
    return {
      step(message) { out.write(`\r\x1b[K${terminalSafe(message)}`); shown = true; },
      done(message) { out.write(`${shown ? '\r\x1b[K' : ''}${terminalSafe(message)}\n`); shown = false; },
    };
  }
  return {
    step(message) { out.write(`${terminalSafe(message)}\n`); },
    done(message) { out.write(`${terminalSafe(message)}\n`); },
  };
}
