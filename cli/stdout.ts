// Every command prints its result here, with write(2) on fd 1, not through process.stdout:
// - Node's stream for a file ignores a short write, so on a disk with a little room left (or
//   under a file-size limit) the rest of the output was dropped without an error; this loop
//   writes again and then hears ENOSPC or EFBIG;
// - on a pipe, process.stdout writes what the pipe takes at once and queues the rest, and output
//   on stderr then lands in the middle of it (`2>&1`); here the write waits for the reader;
// - making process.stdout costs milliseconds at every start (on a pipe a net.Socket, loading net
//   and its bindings), about 3 ms of a `bankforge status | jq` that takes 40 (docs/architecture.md).
// A reader that has gone (EPIPE, or ECONNRESET on a socket: `| head -1`) ends the output quietly.
// Any other failure stops the output, and once the command is over settleOutput() says so and
// turns a success into EXIT.outputLost (docs/cli.md, "Output"). A command that streams through
// process.stdout (run's serial console) prints nothing here.

import { writeSync } from 'node:fs';
import { EXIT } from '../support/exit-codes.js';

let state: 'writing' | 'gone' | 'failed' = 'writing';
let failure: Error | undefined;
/** What a full non-blocking descriptor is waited on with: Atomics.wait sleeps without spinning. */
const pause = new Int32Array(new SharedArrayBuffer(4));
const WAIT_MS = 1;

/** Errors that mean the reader has left: the output ends, quietly. */
function readerGone(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ECONNRESET';
}

/**
 * The exit code when stdout could not be written: EXIT.outputLost in place of a success, or of
 * inspect's warnings, whose worth is the output; a failure keeps its own code.
 */
function exitAfterLostOutput(code: number): number {
  return code === EXIT.ok || code === EXIT.warnings ? EXIT.outputLost : code;
}

/**
 * Writes all of `text` to fd 1 before it returns. A descriptor that is non-blocking and full
 * (EAGAIN: a process.stderr on the same pipe, `2>&1`, or `run`'s console made it so, or whoever
 * shares it) is waited on, a millisecond at a time, as a blocking write would wait; stderr written
 * after this then comes after it. The wait does not turn the event loop: a JavaScript signal
 * handler would not run until the reader reads, so flash prints after removing its own.
 */
export function printOut(text: string): void {
  if (state !== 'writing') return;
  const bytes = Buffer.from(text, 'utf8');
  for (let at = 0; at < bytes.length;) {
    try {
      const n = writeSync(1, bytes, at, bytes.length - at);
      if (n === 0) throw new Error(`a write of ${bytes.length - at} bytes wrote none`);
      at += n;
    } catch (e) {
      if (readerGone(e)) { state = 'gone'; return; }
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') { Atomics.wait(pause, 0, 0, WAIT_MS); continue; }
      state = 'failed';
      failure = e as Error;
      return;
    }
  }
}

/** Once the command is over: when its output could not be written, says so on stderr and sets the exit code. */
export function settleOutput(): void {
  if (!failure) return;
  try {
    writeSync(2, `bankforge: the output could not be written to stdout: ${failure.message}\n`);
  } catch {
    // stderr is broken too: the exit code is all that is left to say it.
  }
  process.exitCode = exitAfterLostOutput(Number(process.exitCode ?? 0));
  failure = undefined;
}
