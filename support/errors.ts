// The one base of every error the CLI reports as one clear line and a documented exit code
// (support/exit-codes.ts). Anything else that escapes is a bug: the CLI prints it with its stack
// under --debug and exits 1.

import { EXIT, type ExitCode } from './exit-codes.js';

export { EXIT, type ExitCode } from './exit-codes.js';

export class BankforgeError extends Error {
  constructor(message: string, readonly exitCode: ExitCode = EXIT.input) {
    super(message);
    this.name = new.target.name;
  }
}

/** A layout was rejected. `where` is "file: field.path", so the user can go straight to it. */
export class LayoutError extends BankforgeError {
  constructor(readonly file: string, readonly field: string, detail: string) {
    super(`${file}: ${field ? `${field}: ` : ''}${detail}`, EXIT.input);
  }
}

/**
 * A full disk or an exhausted quota is the environment, not a bug and not the input's fault in
 * the layout sense; it is still something the user must fix before running again, so it ends
 * like bad input (exit 3) with a message that says so, instead of "internal error, report it".
 */
export function environmentError(e: unknown): BankforgeError | undefined {
  const err = e as NodeJS.ErrnoException | undefined;
  if (err?.code !== 'ENOSPC' && err?.code !== 'EDQUOT') return undefined;
  const what = err.code === 'ENOSPC' ? 'no space left on the device' : 'disk quota exceeded';
  return new BankforgeError(`${what} while writing${err.path ? ` ${err.path}` : ''} (${err.code}): free some space, or write somewhere else, and run again`, EXIT.input);
}
