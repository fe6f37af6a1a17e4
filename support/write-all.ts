// Writing a whole buffer at a byte position. A positional write may write less than it was
// given (a signal, a file system filling up), so the rest is written again; one that writes
// nothing at all would otherwise loop for ever, so that is an error.

import { writeSync } from 'node:fs';

export function writeAllAt(fd: number, data: Uint8Array, position: number): void {
  for (let done = 0; done < data.length;) {
    const n = writeSync(fd, data, done, data.length - done, position + done);
    if (n === 0) throw new Error(`a write of ${data.length} bytes at byte ${position} stopped after ${done} bytes`);
    done += n;
  }
}
