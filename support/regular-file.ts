// Reading a small file the user names (a layout, a key, a manifest): only a regular file, and no
// bigger than the caller's limit. Opening a FIFO would wait for a writer forever and a character
// device may never end, so the file is opened without blocking and checked before it is read.

import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { BankforgeError } from './errors.js';

/** Bad input about the file itself; `missing` when it does not exist (callers may say where to look instead). */
export class FileInputError extends BankforgeError {
  constructor(message: string, readonly missing = false) {
    super(message);
  }
}

/** The bytes of `path`, a regular file of at most `maxBytes`; `what` ("layout", "public key") starts messages. */
export async function readRegularFile(path: string, maxBytes: number, what: string): Promise<Buffer> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch((e: NodeJS.ErrnoException) => {
    throw new FileInputError(`cannot read ${what} ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, e.code === 'ENOENT');
  });
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new FileInputError(`cannot read ${what} ${path}: not a regular file (${st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : 'a device or socket'})`);
    if (st.size > maxBytes) throw new FileInputError(`${what} ${path}: ${st.size} bytes; at most ${maxBytes} are accepted`);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}
