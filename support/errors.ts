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
 * So does a system error on a path the user gave (ENAMETOOLONG, EACCES, EISDIR, ...).
 */
export function environmentError(e: unknown): BankforgeError | undefined {
  const err = e as NodeJS.ErrnoException | undefined;
  if (err?.code === 'ENOSPC' || err?.code === 'EDQUOT') {
    const what = err.code === 'ENOSPC' ? 'no space left on the device' : 'disk quota exceeded';
    return new BankforgeError(`${what} while writing${err.path ? ` ${err.path}` : ''} (${err.code}): free some space, or write somewhere else, and run again`, EXIT.input);
  }
  // A path the user gave said no: say which and what, as bad input.
  const why = typeof err?.code === 'string' && Object.hasOwn(PATH_ERRORS, err.code) ? PATH_ERRORS[err.code] : undefined;
  if (!why || typeof err?.path !== 'string') return undefined;
  const path = err.path.length > 200 ? `${err.path.slice(0, 200)}...` : err.path;
  return new BankforgeError(`${err.syscall ?? 'access'} ${JSON.stringify(path)}: ${why} (${err.code})`, EXIT.input);
}

/** The system errors a user's path can cause, in words. */
const PATH_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory', ENOTDIR: 'a part of the path is not a directory', EISDIR: 'is a directory',
  ENAMETOOLONG: 'name too long', ELOOP: 'too many symbolic links', EACCES: 'permission denied', EPERM: 'operation not permitted',
  EROFS: 'read-only file system', EFBIG: 'file too large for the file system', EEXIST: 'already exists',
  EIO: 'input/output error', ENXIO: 'no such device', ENODEV: 'no such device', EBUSY: 'in use',
};
