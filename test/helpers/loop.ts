// Loop devices for tests that need a real block device with a chosen logical sector size
// (sgdisk on a file assumes 512-byte sectors; a 4Kn disk is only seen through a device), or a
// device for one partition of an image (fsck.fat checks whole devices, not byte ranges).

import { mustRun } from './tools.js';

export interface LoopOptions { readOnly?: boolean; offset?: number; sizeLimit?: number }

export async function withLoop<T>(file: string, sectorSize: 512 | 4096, fn: (dev: string) => Promise<T>, opts: LoopOptions = {}): Promise<T> {
  const args = ['-f', '--show', '--sector-size', String(sectorSize), ...(opts.readOnly ? ['-r'] : [])];
  if (opts.offset !== undefined) args.push('--offset', String(opts.offset));
  if (opts.sizeLimit !== undefined) args.push('--sizelimit', String(opts.sizeLimit));
  const dev = (await mustRun('losetup', [...args, file])).trim();
  try {
    return await fn(dev);
  } finally {
    await mustRun('losetup', ['-d', dev]);
  }
}
