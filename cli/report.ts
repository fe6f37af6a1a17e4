// How a command's failure reaches the user: the message on stderr (the stack only with --debug),
// or with --json one JSON document on stdout (cli/json-error.ts); the exit code it returns is the
// error's own (support/exit-codes.ts), or 1 (EXIT.internal) for a bug. Shared by cli/main.ts and cli/direct.ts.

import { BankforgeError, EXIT, environmentError } from '../support/errors.js';
import { terminalSafe } from '../support/terminal-text.js';
import { jsonError } from './json-error.js';
import { printOut } from './stdout.js';

export function report(thrown: unknown, debug: boolean, json: boolean): number {
  const e = environmentError(thrown) ?? thrown;
  if (json) {
    const known = e instanceof BankforgeError && e.exitCode !== EXIT.internal;
    const code = known ? e.exitCode : EXIT.internal;
    const message = known ? e.message : `internal error: ${(e as Error)?.message ?? String(e)}`;
    printOut(`${JSON.stringify(jsonError(e, code, message))}\n`);
    if (debug) process.stderr.write(`${(thrown as Error | undefined)?.stack ?? ''}\n`);
    return code;
  }
  if (e instanceof BankforgeError && e.exitCode !== EXIT.internal) {
    process.stderr.write(`bankforge: ${terminalSafe(e.message)}\n`);
    // The stack of what was thrown: for an environment error, the write that failed.
    const stack = (thrown as Error | undefined)?.stack;
    if (debug && stack) process.stderr.write(`${stack}\n`);
    return e.exitCode;
  }
  const err = e as Error;
  process.stderr.write(`bankforge: internal error: ${terminalSafe(err?.message ?? String(e))}\n`);
  if (debug) process.stderr.write(`${err?.stack ?? ''}\n`);
  else process.stderr.write('(run again with --debug for the stack trace, and please report it)\n');
  return EXIT.internal;
}
