// Loop devices for tests that need a real block device with a chosen logical sector size
// (sgdisk on a file assumes 512-byte sectors; a 4Kn disk is only seen through a device).

import { mustRun } from './tools.js';

export async function withLoop<T>(file: string, sectorSize: 512 | 4096, fn: (dev: string) => Promise<T>, opts: { readOnly?: boolean } = {}): Promise<T> {
  const args = ['-f', '--show', '--sector-size', String(sectorSize), ...(opts.readOnly ? ['-r'] : []), file];
  const dev = (await mustRun('losetup', args)).trim();
  try {
    return await fn(dev);
  } finally {
    await mustRun('losetup', ['-d', dev]);
  }
}
