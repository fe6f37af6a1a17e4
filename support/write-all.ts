// Writing a whole buffer at a byte position, on this thread or through the thread pool. A
// positional write may write less than it was given (a signal, a file system filling up), so the
// rest is written again; one that writes nothing at all would otherwise loop for ever, so that is
// an error.

import { write, writeSync } from 'node:fs';
import { promisify } from 'node:util';

const writeAsync = promisify(write);

const stopped = (length: number, position: number, done: number): Error =>
  new Error(`a write of ${length} bytes at byte ${position} stopped after ${done} bytes`);

export function writeAllAt(fd: number, data: Uint8Array, position: number): void {
  for (let done = 0; done < data.length;) {
    const n = writeSync(fd, data, done, data.length - done, position + done);
    if (n === 0) throw stopped(data.length, position, done);
    done += n;
  }
}

export async function writeAllAtAsync(fd: number, data: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await writeAsync(fd, data, done, data.length - done, position + done);
    if (bytesWritten === 0) throw stopped(data.length, position, done);
    done += bytesWritten;
  }
}
