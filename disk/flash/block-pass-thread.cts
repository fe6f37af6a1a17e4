// The worker thread's side of a shared pass (block-pass.cts): for each pass the main thread
// posts, it opens the image (and the device), does items until none is left, and answers. A read
// that fails is recorded in the pass, and one that cannot even open the files is answered as a
// failure; the main thread then does those items itself and meets the failure with its own
// message (so the worker's is not kept). Started by helper-thread.ts.

import { parentPort } from 'node:worker_threads';
import { CHUNK_MAX, closePassFiles, doShare, openPassFiles, type Pass } from './block-pass.cjs';
import { alignedBuffer } from './direct-io.cjs';

/** What the worker answers for each pass: its share is done (and how many items it did), or it stopped (the main thread does the rest). */
export interface PassAnswer { done: boolean; items: number }

const port = parentPort;
if (port) {
  // For the worker's life: untouched memory costs a page fault per 4 KiB on first use.
  const buffers: { buf: Buffer; aligned?: Buffer } = { buf: Buffer.allocUnsafe(CHUNK_MAX) };
  port.on('message', (pass: Pass) => {
    let done = true;
    let items = 0;
    try {
      if (pass.kind === 'compare') buffers.aligned ??= alignedBuffer(CHUNK_MAX);
      const files = openPassFiles(pass, buffers);
      try {
        items = doShare(pass, files);
      } finally {
        closePassFiles(files);
      }
    } catch {
      done = false;
    }
    port.postMessage({ done, items } satisfies PassAnswer);
  });
}
