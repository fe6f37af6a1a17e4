// The second core for flash's check against the manifest and its read-back: a worker thread that
// takes items of a shared pass (block-pass.cts) alongside the main thread. Started only for an
// image with enough data to hash that a worker, ~35 ms to start and a few ms of the main
// thread's time, pays for itself (flash.ts); a worker that cannot start or fails leaves its part
// to the main thread, which then does the whole pass as it would alone.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { PACKAGE_ROOT } from '../../support/package-info.js';
import { doItem, startRound, stop, take, type Pass, type PassFiles } from './block-pass.cjs';
import type { PassAnswer } from './block-pass-thread.cjs';

/** The worker's entry: compiled, not bundled (it loads none of the CLI). */
const ENTRY = join(PACKAGE_ROOT, 'dist', 'disk', 'flash', 'block-pass-thread.cjs');

export class HelperThread {
  private failed = false;
  private pending: ((done: boolean) => void) | undefined;
  /** Items the worker has done, over every pass (what tests ask to see that it took part). */
  itemsDone = 0;

  private constructor(private readonly worker: Worker) {
    // Holds the process open only while a pass waits for it.
    worker.unref();
    const answer = (done: boolean): void => {
      const pending = this.pending;
      this.pending = undefined;
      worker.unref();
      pending?.(done);
    };
    worker.on('message', (a: PassAnswer) => {
      this.itemsDone += a.items;
      answer(a.done);
    });
    const fail = (): void => {
      this.failed = true;
      answer(false);
    };
    worker.on('error', fail);
    worker.on('exit', fail);
  }

  /** A worker, starting now; undefined when none can be made. */
  static start(): HelperThread | undefined {
    if (addressSpaceLimited()) return undefined;
    try {
      // Loaded here: node:worker_threads is ~2 ms that a flash with little data does without.
      const { Worker } = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
      return new HelperThread(new Worker(ENTRY));
    } catch {
      return undefined;
    }
  }

  /** Hands the worker `pass`: resolves true once it has done its share, false when it failed or cannot take it. */
  share(pass: Pass): Promise<boolean> {
    if (this.failed || this.pending) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.pending = resolve;
      this.worker.ref();
      this.worker.postMessage(pass);
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/**
 * One round of `pass`, whose first `count` items are filled in: the main thread takes items
 * through `files` alongside `helper`, calling `between` (with how many items are finished) after
 * each of its own. Returns once no item is left to take and the helper has answered; items it
 * left or that failed are settle()d by the caller as it judges them. What `between` throws (a
 * stopped flash) stops the helper too.
 */
export async function runRound(pass: Pass, count: number, helper: HelperThread | undefined, files: PassFiles, between: (finished: number) => Promise<void>): Promise<void> {
  startRound(pass, count);
  const helped = helper?.share(pass);
  try {
    for (let k = take(pass); k >= 0; k = take(pass)) {
      doItem(pass, k, files);
      await between(Atomics.load(pass.counter, 1));
    }
  } finally {
    stop(pass);
    await helped;
  }
}

/**
 * Whether the process's address space is limited (ulimit -v) below what a worker may need: a
 * worker's V8 reserves several GiB to start and cannot fail gracefully (measured: under 11.5-12
 * GB the whole process aborted), and flash's own buffers reserve as much again. Without
 * /proc/self/limits, not limited.
 */
function addressSpaceLimited(): boolean {
  try {
    const line = readFileSync('/proc/self/limits', 'latin1').split('\n').find((l) => l.startsWith('Max address space'));
    const soft = line?.slice('Max address space'.length).trim().split(/\s+/)[0];
    return soft !== undefined && soft !== 'unlimited' && Number(soft) < ADDRESS_SPACE_MIN;
  } catch {
    return false;
  }
}

/** With less address space than this (64 GiB), no worker: from 60 GB up every flash passed under the limit. */
const ADDRESS_SPACE_MIN = 64 * 2 ** 30;
