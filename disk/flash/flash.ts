// `bankforge flash` as a library function: open the image, judge the target, ask, then write
// (writer.ts) and read back (verify.ts). Every refusal comes before the device is opened for
// writing; the device is opened O_EXCL, so the kernel refuses it while anything has it mounted
// or claimed, and nothing can mount it while we write. An image with much data is checked and
// read back by two threads (helper-thread.ts).

import { closeSync, constants, openSync, statSync } from 'node:fs';
import type { Bytes } from '../../partitions/units.js';
import { describeDevice, type DeviceInfo } from './devices.js';
import { DirectReader } from './direct-io.cjs';
import { checkSidecars } from './sidecars.js';
import { FlashFailure, FlashInterrupted, FlashRefusal } from './errors.js';
import { assertUnchanged, openImage, type ImageSource } from './image.js';
import { HelperThread } from './helper-thread.js';
import type { BlockList } from '../../builder/image/blocks.js';
import { makePlan } from './plan.js';
import { silentProgress, type FlashProgress } from './progress.js';
import { checkTarget } from './safety.js';
import { alignedMemory, chunkBuffers } from './segments.js';
import { verifyDevice } from './verify.js';
import { writeDevice, type SyncMode } from './writer.js';
import { lockForWriting } from '../write-lock.js';
import { BankforgeError } from '../../support/errors.js';
import { monotonicMs } from '../../support/event-loop-turns.js';

export interface FlashOptions {
  image: string;
  device: string;
  /** Read everything back after writing (default true). */
  verify?: boolean;
  /** Write a disk that is neither removable nor on USB. */
  allowFixed?: boolean;
  /** Asked once every check has passed; false refuses. Absent: no question (--yes). */
  confirm?: (device: DeviceInfo, image: ImageSource) => Promise<boolean>;
  progress?: FlashProgress;
  /** Aborting stops between chunks with FlashInterrupted. */
  signal?: AbortSignal;
  sync?: SyncMode;
  /** Test hook: runs after the last write, before verification. */
  afterWrite?: (device: string) => Promise<void>;
}

export interface FlashResult {
  device: DeviceInfo;
  image: ImageSource;
  /** Image data written, stale bytes read and cleared, bytes read back. */
  dataBytes: Bytes;
  staleRead: Bytes;
  staleCleared: Bytes;
  verifiedBytes: Bytes;
  writeMs: number;
  verifyMs: number;
}

export const DEFAULT_SYNC: SyncMode = 'group';

/**
 * A worker thread shares the check against the manifest and the read-back (helper-thread.ts)
 * when the manifest lists at least this much data. It is ready ~35 ms after it is started, and costs the main
 * thread ~6 ms to start; 64 MiB is ~55 ms of sha256 on one core of these machines.
 */
export const HELPER_MIN: Bytes = 64 * 1024 * 1024;

const listedData = (list: BlockList): Bytes => list.runs.reduce((n, r) => n + (r.sha256 ? r.count * list.size : 0), 0);

export async function flash(opts: FlashOptions): Promise<FlashResult> {
  // Started before the image is read, so that it is ready sooner, when the file's allocated
  // blocks could hold that much data (a sparse image's are about its data); kept only for a raw
  // image whose manifest lists that much.
  // A path that cannot be looked at starts none: openImage says what is wrong with it.
  const allocated = (() => { try { return statSync(opts.image); } catch { return undefined; } })();
  const started = allocated?.isFile() && allocated.blocks * 512 >= HELPER_MIN ? HelperThread.start() : undefined;
  try {
    // The device is looked at (sysfs and /proc; it is not opened) while the image is read and its
    // helpers start; an image that cannot be flashed is still the error reported.
    const [opened, described] = await Promise.allSettled([openImage(opts.image), describeDevice(opts.device)]);
    if (opened.status === 'rejected') throw opened.reason;
    const image = opened.value;
    const helper = image.compression === 'none' && image.manifest?.blocks && listedData(image.manifest.blocks) >= HELPER_MIN ? started : undefined;
    if (!helper) await started?.close();
    return await flashImage(opts, image, described, helper);
  } finally {
    await started?.close();
  }
}

async function flashImage(opts: FlashOptions, image: ImageSource, described: PromiseSettledResult<DeviceInfo>, helper: HelperThread | undefined): Promise<FlashResult> {
  const progress = opts.progress ?? silentProgress;
  for (const n of image.notes) progress.note(n);
  if (described.status === 'rejected') throw described.reason;
  const device = described.value;
  checkTarget(device, { path: image.path, size: image.size, sectorSize: image.gpt.sectorSize }, { allowFixed: opts.allowFixed ?? false });
  // Before the lock, which nothing would release if these threw, and before the device is opened.
  const buffers = chunkBuffers();
  const plan = alignedMemory(() => makePlan(image.gpt, image.size, device.size));
  // The write lock every bankforge writer and QEMU's image lock respect (disk/write-lock.ts): a
  // stick a VM or another bankforge is using is refused before a byte is written. It is taken
  // while the image is checked (its helper is a process of its own) and before the question, so
  // that a "yes" is never followed by "in use".
  const locking = lockForWriting(device.path).catch((e: unknown) => {
    throw e instanceof BankforgeError ? new FlashRefusal(`refusing to write ${device.path}: ${e.message}`) : e;
  });
  // Before the question and before the first write: an image its sidecars no longer describe is not written at all.
  const [checked, locked] = await Promise.allSettled([checkSidecars(image, device.path, progress, opts.signal, buffers.data, helper), locking]);
  if (checked.status === 'rejected' || locked.status === 'rejected') {
    if (locked.status === 'fulfilled') await locked.value.release();
    throw checked.status === 'rejected' ? checked.reason : (locked as PromiseRejectedResult).reason;
  }
  const lock = locked.value;
  // A signal during the check is seen only at its next turn of the event loop: it may be after
  // the check ended, and nothing was written yet.
  if (opts.signal?.aborted) {
    await lock.release();
    throw new FlashInterrupted('checking');
  }
  if (opts.confirm && !(await opts.confirm(device, image).catch(async (e: unknown) => { await lock.release(); throw e; }))) {
    await lock.release();
    throw new FlashRefusal(`not confirmed; nothing was written to ${device.path}`);
  }
  // O_DIRECT: the data goes from our buffer to the device, not through a second copy in the page cache first.
  const flags = constants.O_WRONLY | constants.O_EXCL | constants.O_DIRECT | (opts.sync === 'dsync' ? constants.O_DSYNC : 0);
  let fd: number;
  try {
    // After the question too, which a signal may have come during.
    if (opts.signal?.aborted) throw new FlashInterrupted('checking');
    fd = openSync(device.path, flags);
  } catch (e) {
    await lock.release();
    if ((e as NodeJS.ErrnoException).code === 'EBUSY') throw new FlashRefusal(`refusing to write ${device.path}: it is in use (a partition mounted or claimed since the check, or another program holds it exclusively). Nothing was written.`);
    throw e;
  }
  let direct: DirectReader | undefined;
  let phase: 'writing' | 'verifying' = 'writing';
  const reader = await image.openReader();
  try {
    direct = DirectReader.open(device.path, device.sectorSize);
    const t0 = monotonicMs();
    const verify = opts.verify !== false;
    // A raw image is verified against the file itself, which was held against its sidecars
    // before writing: the data is hashed once (that check), not again while writing and reading
    // back. A .bmap's ranges are then not hashed at all, so they are trusted only beside a
    // manifest that lists blocks, against which checkSidecars found no data outside them.
    const compare = verify && image.compression === 'none' && (!image.bmap || Boolean(image.manifest?.blocks));
    const rec = await writeDevice(plan, image, reader, { path: device.path, fd, direct }, { sync: opts.sync ?? DEFAULT_SYNC, checkBmapNow: !verify, compare, progress, signal: opts.signal, buffers });
    const t1 = monotonicMs();
    await opts.afterWrite?.(device.path);
    phase = 'verifying';
    const verifiedBytes = !verify ? 0 : await verifyDevice(plan, rec, image, direct, buffers, progress, opts.signal, helper);
    // The file was held against its sidecars before the first write; what the write read of it
    // since (the data, the head and tail it composed) is that only if nothing has written it.
    if (compare) assertUnchanged(image);
    return { device, image, dataBytes: rec.dataBytes, staleRead: rec.staleRead, staleCleared: rec.staleCleared, verifiedBytes, writeMs: t1 - t0, verifyMs: monotonicMs() - t1 };
  } catch (e) {
    if (e instanceof FlashInterrupted || e instanceof FlashFailure) throw e;
    // A signal also stops a decompressor, whose complaint may come first.
    if (opts.signal?.aborted) throw new FlashInterrupted(phase);
    // Past this point something was written: no error may claim otherwise.
    const state = phase === 'writing' ? 'it is not bootable (its partition table is written last, and was not)' : 'it was written completely but not verified';
    throw new FlashFailure(`${(e as Error).message}; ${device.path} was being written: ${state}`);
  } finally {
    await reader.close();
    direct?.close();
    closeSync(fd);
    await lock.release();
  }
}
