// Long loops of synchronous file calls (flash, reading a target, hashing an image's holes): here
// every trip through libuv's thread pool costs 50-100 µs, and the first big reads through it
// several times a direct read, so the hot paths read and write synchronously (flash's data
// writes excepted: a 1 MiB O_DIRECT write is worth a trip, to read the next chunk meanwhile).
// Such a loop never lets the event loop run, so a SIGINT handler (Ctrl-C must stop a flash
// between chunks, and remove a partial output) would wait for the whole loop; each loop
// therefore hands the event loop a turn once TURN_MS have passed since the last one. By time, not by bytes: on a USB stick
// writing 5-20 MB/s, 64 MiB is seconds of ignored Ctrl-C, and on a fast disk a turn per chunk
// would be thousands of turns for nothing.

/** A turn costs microseconds; Ctrl-C is then answered within about this long plus one chunk (plus the data writes still out, in a flash: disk/flash/writer.ts). */
export const TURN_MS = 50;

/**
 * Milliseconds on the monotonic clock. Not performance.now(): its first use loads node:perf_hooks
 * and a dozen modules behind it, ~2 ms of every `status` (and of every flash, which times itself).
 */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** `after` resolves at once, or after one event-loop turn when TURN_MS have passed since the last. */
export class EventLoopTurns {
  private last = monotonicMs();

  /** Whether a turn is due: a loop of synchronous calls asks, and awaits after() only then. */
  due(): boolean {
    return monotonicMs() - this.last >= TURN_MS;
  }

  async after(): Promise<void> {
    if (!this.due()) return;
    // The global setImmediate: node:timers/promises would be one more module for `status` to load.
    await new Promise(setImmediate);
    this.last = monotonicMs();
  }
}
