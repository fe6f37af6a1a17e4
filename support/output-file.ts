// The one rule for every file bankforge writes (images, manifests, side outputs, bundles, extracted
// dumps): the path must hold a regular file or nothing. Anything else there (a device node, a
// FIFO, a socket, a directory, a symbolic link) is refused with exit 3 before a byte is written:
// `bundle -o /dev/sdb` once replaced a disk's node with a regular file. The content goes to a
// temporary name in the same directory (so the final rename is atomic on one filesystem), which
// is renamed into place when complete and removed on any failure, and on SIGINT/SIGTERM before
// the process exits 130: an interrupted build leaves no `X.img.partial-PID-N` behind.

import { lstatSync, rmSync, statSync, type Stats } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BankforgeError, errnoText, EXIT } from './errors.js';
import { partialPath } from './temp-path.js';

/** What a path that is not a regular file is, in words; undefined for a regular file. */
export function notRegularFile(st: Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isCharacterDevice()) return 'a character device';
  return 'not a regular file';
}

/**
 * Refuses `path` unless it is a regular file or nothing, and its directory exists. lstat, not
 * stat: a symbolic link is refused for what it is, not followed to whatever it names.
 */
export function checkOutputPath(path: string): void {
  outputPathStat(path);
}

/**
 * checkOutputPath's checks, answering with what is at `path` (undefined: nothing). Synchronous: a
 * build checks four paths twice, and each stat through the thread pool is a round trip of 50-100
 * µs on these machines.
 */
function outputPathStat(path: string): Stats | undefined {
  let st: Stats | undefined;
  try {
    st = lstatSync(path, { throwIfNoEntry: false });
  } catch (e) {
    throw outputError(path, e);
  }
  const what = st && notRegularFile(st);
  if (what) throw new BankforgeError(`${path} is ${what}; bankforge writes only a regular file or a new one there, so nothing was written`);
  if (!st) {
    const dir = dirname(path);
    let d: Stats | undefined;
    try {
      d = statSync(dir, { throwIfNoEntry: false });
    } catch {
      d = undefined;
    }
    if (!d?.isDirectory()) throw new BankforgeError(`cannot write ${path}: directory ${dir} does not exist`);
  }
  return st;
}

/** Checks every path first, so that a bad side output is refused before the first file lands. */
export function checkOutputPaths(paths: readonly string[]): void {
  for (const p of paths) checkOutputPath(p);
}

/** A file being written: `tmp` is where the content goes until commit() renames it to `path`. */
export interface OutputFile {
  readonly path: string;
  readonly tmp: string;
  /** Renames the temporary into place (checking `path` once more just before). */
  commit(): Promise<void>;
  /**
   * Whether `path` still holds what commit() renamed there (its device and inode): another
   * process may have renamed its own over it since, as a second build to the same path does.
   */
  stillOurs(): boolean;
  /** Removes the temporary; safe to call after commit() or twice. */
  discard(): Promise<void>;
}

export async function createOutput(path: string): Promise<OutputFile> {
  checkOutputPath(path);
  const tmp = partialPath(path);
  track(tmp);
  let placed: Stats | undefined;
  return {
    path,
    tmp,
    async commit() {
      // The path may have changed since the first check (a long build); rename() would replace a
      // device node or a FIFO as readily as a file.
      checkOutputPath(path);
      placed = await renameIntoPlace(tmp, path);
    },
    stillOurs: () => holds(path, placed),
    async discard() {
      await rm(tmp, { force: true });
      untrack(tmp);
    },
  };
}

/**
 * A directory of outputs (`coredump --extract DIR` writes DIR/seq-N/): nothing may be at `path`
 * (an existing one would end up half old, half new), and it is filled under a temporary name.
 */
export async function createOutputDirectory(path: string): Promise<OutputFile> {
  if (outputPathStat(path)) throw new BankforgeError(`${path} exists; remove it or extract elsewhere, so nothing was written`);
  const tmp = partialPath(path);
  track(tmp);
  let placed: Stats | undefined;
  await mkdir(tmp).catch(async (e: unknown) => { untrack(tmp); throw outputError(path, e); });
  return {
    path,
    tmp,
    async commit() {
      placed = await renameIntoPlace(tmp, path);
    },
    stillOurs: () => holds(path, placed),
    async discard() {
      await rm(tmp, { force: true, recursive: true });
      untrack(tmp);
    },
  };
}

/** Renames `tmp` to `path` and stops tracking it; answers what was renamed (for holds()). */
async function renameIntoPlace(tmp: string, path: string): Promise<Stats | undefined> {
  const st = statSync(tmp, { throwIfNoEntry: false });
  await rename(tmp, path).catch((e: NodeJS.ErrnoException) => { throw outputError(path, e); });
  untrack(tmp);
  return st;
}

/**
 * Whether `path` holds the file or directory `placed` described (device and inode), not followed
 * if a link. What cannot be looked at is not taken for ours: a rollback then leaves it alone.
 */
function holds(path: string, placed: Stats | undefined): boolean {
  let st: Stats | undefined;
  try {
    st = lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return false;
  }
  return placed !== undefined && st !== undefined && st.ino === placed.ino && st.dev === placed.dev;
}

/**
 * Writes `path` through `write(tmp)`: checked, written under the temporary name, renamed into
 * place; on any failure the temporary is removed and a file-system error (full disk, read-only,
 * file too large) becomes exit 3 naming the path.
 */
export async function writeOutput<T>(path: string, write: (tmp: string) => Promise<T>): Promise<T> {
  const out = await createOutput(path);
  try {
    const r = await write(out.tmp);
    await out.commit();
    return r;
  } catch (e) {
    await out.discard();
    throw outputError(path, e);
  }
}

/** What a rename into place can meet that the path check before it did not see. */
const RENAME_RACES: Readonly<Record<string, string>> = {
  EEXIST: 'something appeared there meanwhile',
  ENOTEMPTY: 'a non-empty directory appeared there meanwhile',
};

/** A file-system error writing `path` as bad input (exit 3); anything else as it is. */
export function outputError(path: string, e: unknown): unknown {
  if (e instanceof BankforgeError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  const why = typeof code === 'string' && Object.hasOwn(RENAME_RACES, code) ? `${RENAME_RACES[code]} (${code})` : errnoText(e);
  return why ? new BankforgeError(`cannot write ${path}: ${why}; nothing was left there`, EXIT.input) : e;
}

// Temporaries alive in this process, removed by the signal handler. The handler is installed only
// while one exists, so that commands with their own (run, flash) are not disturbed otherwise.
const live = new Set<string>();

function track(tmp: string): void {
  if (live.size === 0) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  live.add(tmp);
}

function untrack(tmp: string): void {
  if (!live.delete(tmp) || live.size > 0) return;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

function onSignal(signal: NodeJS.Signals): void {
  // Synchronous: nothing else may run between the signal and the exit.
  for (const tmp of live) {
    rmSync(tmp, { force: true, recursive: true });
  }
  process.stderr.write(`bankforge: ${signal}: stopped; partial output removed\n`);
  process.exit(EXIT.interrupted);
}
