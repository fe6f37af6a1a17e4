// The one base of every error the CLI reports as one clear line and a documented exit code
// (support/exit-codes.ts). Anything else that escapes is a bug: the CLI prints it with its stack
// under --debug and exits 1.

import { EXIT, type ExitCode } from './exit-codes.js';

export { EXIT, type ExitCode } from './exit-codes.js';

/** Where in the input the error is, for `--json` errors (cli/json-error.ts); the message names it too. */
export interface ErrorLocation { file?: string; field?: string; offset?: number }

export class BankforgeError extends Error {
  file?: string;
  field?: string;
  offset?: number;
  constructor(message: string, readonly exitCode: ExitCode = EXIT.input, where?: ErrorLocation) {
    super(message);
    this.name = new.target.name;
    if (where?.file !== undefined) this.file = where.file;
    if (where?.field !== undefined) this.field = where.field;
    if (where?.offset !== undefined) this.offset = where.offset;
  }
}

/** A layout was rejected. `where` is "file: field.path", so the user can go straight to it. */
export class LayoutError extends BankforgeError {
  declare readonly file: string;
  declare readonly field: string;
  constructor(file: string, field: string, detail: string) {
    super(`${file}: ${field ? `${field}: ` : ''}${detail}`, EXIT.input, { file, field });
  }
}

/** What the system errors a user's path or disk can cause mean, in words. */
const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory', ENOTDIR: 'a part of the path is not a directory', EISDIR: 'is a directory',
  ENAMETOOLONG: 'name too long', ELOOP: 'too many symbolic links', EACCES: 'permission denied', EPERM: 'operation not permitted',
  EROFS: 'read-only file system', EFBIG: "larger than the file system's file-size limit", EEXIST: 'already exists',
  ENOSPC: 'no space left on the device', EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error', ENXIO: 'no such device', ENODEV: 'no such device', EBUSY: 'in use',
};

/** "no space left on the device (ENOSPC): free some space, ..." for a system error, or undefined. */
export function errnoText(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string' || !Object.hasOwn(ERRNO_TEXT, code)) return undefined;
  const full = code === 'ENOSPC' || code === 'EDQUOT' ? ': free some space, or write somewhere else, and run again' : '';
  return `${ERRNO_TEXT[code]} (${code})${full}`;
}

/**
 * A full disk or an exhausted quota is the environment, not a bug and not the input's fault; a
 * system error on a path the user gave (ENAMETOOLONG, EACCES, EISDIR, ...) is the input's. Both
 * are for the user to fix before running again, so they end like bad input (exit 3), with a
 * message that names the path and says what, instead of "internal error, report it".
 */
export function environmentError(e: unknown): BankforgeError | undefined {
  const err = e as NodeJS.ErrnoException | undefined;
  const text = errnoText(e);
  if (!text) return undefined;
  if (err?.code === 'ENOSPC' || err?.code === 'EDQUOT') return new BankforgeError(`writing${err.path ? ` ${err.path}` : ''}: ${text}`, EXIT.input);
  if (typeof err?.path !== 'string') return undefined;
  const path = err.path.length > 200 ? `${err.path.slice(0, 200)}...` : err.path;
  return new BankforgeError(`${err.syscall ?? 'access'} ${JSON.stringify(path)}: ${text}`, EXIT.input);
}
