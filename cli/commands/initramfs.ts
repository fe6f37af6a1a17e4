// `bankforge initramfs`: argument handling around builder/initramfs/initramfs.ts.

import { buildInitramfs } from '../../builder/initramfs/initramfs.js';
import { compileStateTool } from '../../builder/pipeline/state-tool.js';
import { makeProgress } from '../../support/progress.js';
import { sourceDateEpoch } from '../source-date-epoch.js';

interface Args { out: string; dir?: string[]; busybox?: string; stateTool: boolean; quiet: boolean }

/** cpio's mtime field is 32 bits unsigned. */
const EPOCH_MAX_CPIO = 0xffffffff;

export async function run(a: Args): Promise<void> {
  const epoch = sourceDateEpoch(0, EPOCH_MAX_CPIO, 'the last date a cpio header holds, 2106-02-07');
  const stateTool = a.stateTool ? (await compileStateTool()).path : undefined;
  const r = await buildInitramfs({ out: a.out, dirs: a.dir ?? [], ...(a.busybox ? { busybox: a.busybox } : {}), ...(stateTool ? { stateTool } : {}), epoch: epoch ?? 0 });
  makeProgress({ quiet: a.quiet }).done(`wrote ${r.out} (${r.size} bytes, gzip-compressed newc cpio${stateTool ? ', with /sbin/bankforge-state' : ''})`);
}
