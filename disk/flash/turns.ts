// Flash reads and writes with synchronous calls on the main thread: here every trip through
// libuv's thread pool costs 50-100 µs, and the first big reads through it several times a direct
// read. A loop of synchronous calls never lets the event loop run, so a SIGINT handler (Ctrl-C
// must stop a flash between chunks) would wait for the whole loop; each loop therefore hands the
// event loop a turn every TURN_EVERY bytes.

import { setImmediate } from 'node:timers/promises';
import type { Bytes } from '../../partitions/units.js';

/** Long enough that turns cost nothing measurable, short enough that Ctrl-C answers within ~0.1 s. */
export const TURN_EVERY: Bytes = 64 * 1024 * 1024;

/** Counts the bytes a loop moved; `after` resolves at once, or after one event-loop turn every TURN_EVERY bytes. */
export class EventLoopTurns {
  private since: Bytes = 0;

  async after(bytes: Bytes): Promise<void> {
    this.since += bytes;
    if (this.since < TURN_EVERY) return;
    this.since = 0;
    await setImmediate();
  }
}
