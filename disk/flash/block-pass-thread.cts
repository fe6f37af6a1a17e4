// The worker thread's side of a shared block pass (block-pass.cts): for each pass the main thread
// posts, it opens the image, does items until none is left, and answers; a failure (the image cut
// short under it) is answered too, and the main thread then does what is left itself, meeting
// the same failure with its own message (so the worker's is not kept). Started by helper-thread.ts.

import { parentPort } from 'node:worker_threads';
import { CHUNK_MAX, closePassFiles, doShare, openPassFiles, type Pass } from './block-pass.cjs';
import { alignedBuffer } from './direct-io.cjs';

/** What the worker answers for each pass: its share is done, or it stopped (the main thread does the rest). */
export interface PassAnswer { done: boolean }

const port = parentPort;
if (port) {
  // For the worker's life: untouched memory costs a page fault per 4 KiB on first use.
  const buffers: { buf: Buffer; aligned?: Buffer } = { buf: Buffer.allocUnsafe(CHUNK_MAX) };
  port.on('message', (pass: Pass) => {
    let done = true;
    try {
      if (pass.kind === 'compare') buffers.aligned ??= alignedBuffer(CHUNK_MAX);
      const files = openPassFiles(pass, buffers);
      try {
        doShare(pass, files);
      } finally {
        closePassFiles(files);
      }
    } catch {
      done = false;
    }
    port.postMessage({ done } satisfies PassAnswer);
  });
}
