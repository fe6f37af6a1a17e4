// A bank's new FAT volume, made in memory by the FAT writer before anything is written to the
// target: from sector 0 to the end of the last used cluster, zeros included. The writer leaves
// holes where a fresh image is zero anyway; an upgrade writes over an old volume, so the unused
// tail of both FATs and of the root directory must be written as zeros too, or the old volume's
// entries would show through. Free clusters after the content are not written: nothing
// reaches them without a FAT entry.

import { BankforgeError } from '../../support/errors.js';
import { FatError, planFatVolume, writeFatVolume, type FatFormatOptions, type FatTree } from '../../partitions/fat/index.js';
import { clusterOffset, sectorOffset } from '../../partitions/fat/geometry.js';
import type { ByteSink } from '../../partitions/sink.js';

export async function composeVolume(opts: FatFormatOptions, files: Map<string, Buffer>, where: string): Promise<Buffer> {
  const tree: FatTree = new Map([...files].map(([name, data]) => [name, { kind: 'file' as const, size: data.length, source: { data } }]));
  let plan;
  try {
    plan = planFatVolume(opts, tree);
  } catch (e) {
    if (e instanceof FatError) throw new BankforgeError(`${where}: a ${opts.type} volume of ${opts.size} bytes cannot hold the bundle: ${e.message}`);
    throw e;
  }
  // Every byte the writer puts down lies before the end of the last cluster the plan allocated
  // (the boot area, the FATs and a FAT12/16 root come before the first cluster): one buffer of
  // that size takes each write where it lands, with no copy of its own and no second pass.
  const metadataEnd = sectorOffset(plan.geometry, plan.geometry.firstDataSector);
  const out = Buffer.alloc(clusterOffset(plan.geometry, plan.nextFreeCluster));
  let dataEnd = metadataEnd;
  const sink: ByteSink = {
    write: async (offset, data) => {
      out.set(data, offset);
      dataEnd = Math.max(dataEnd, offset + data.length);
    },
    copyFile: () => Promise.reject(new Error('composeVolume: bundle files are in memory; no host file is copied')),
  };
  await writeFatVolume(plan, sink);
  const ss = opts.sectorSize;
  return out.subarray(0, Math.ceil(dataEnd / ss) * ss);
}
