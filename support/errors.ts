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
