// Printing a command's result with write(2) to fd 1, without process.stdout: the first use of
// process.stdout builds a stream over fd 1 (on a pipe a net.Socket, loading net and its bindings;
// on a terminal tty's), about 3 ms of a `bankforge status | jq` that takes 40 (docs/architecture.md).
// On a blocking descriptor, as a pipe, file or terminal normally is, writeSync writes it all,
// waiting for a slow reader as Node's stream would not. Only for what it alone writes: anything a
// command queued in process.stdout before would come after it.

import { writeSync } from 'node:fs';

/**
 * Writes all of `text` to fd 1. A reader that has gone (EPIPE: `| head -1`) ends the output
 * quietly, as it does through process.stdout. What fd 1 does not take at once (EAGAIN on a
 * descriptor someone sharing it made non-blocking, or a write of nothing) goes through
 * process.stdout, which queues it; the launcher waits for that before it exits.
 */
export function printOut(text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let at = 0;
  try {
    for (let n = -1; at < bytes.length && n !== 0; at += n) n = writeSync(1, bytes, at, bytes.length - at);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') return;
    if (code !== 'EAGAIN') throw e;
  }
  if (at < bytes.length) process.stdout.write(bytes.subarray(at));
}
