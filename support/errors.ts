// Errors the CLI reports as one clear line and an exit code, and the exit codes themselves.
// Anything else that escapes is a bug: the CLI prints it with its stack under --debug.

export const EXIT = {
  ok: 0,
  /** A bug or an unexpected system error. */
  internal: 1,
  /** The command line is wrong (unknown option, missing argument). */
  usage: 2,
  /** An input is wrong: layout rejected, file missing, image unreadable. Nothing was written. */
  input: 3,
  /** `inspect`: the image was read but something in it is inconsistent (see the warnings). */
  warnings: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class BankforgeError extends Error {
  constructor(message: string, readonly exitCode: ExitCode = EXIT.input) {
    super(message);
    this.name = 'BankforgeError';
  }
}

/** A layout was rejected. `where` is "file: field.path", so the user can go straight to it. */
export class LayoutError extends BankforgeError {
  constructor(readonly file: string, readonly field: string, detail: string) {
    super(`${file}: ${field ? `${field}: ` : ''}${detail}`, EXIT.input);
    this.name = 'LayoutError';
  }
}
