// Finding the boot banks of an image or device and reading and writing their state records,
// the way the loader does: a bank is a partition whose last 8 KiB hold a valid record.
// Writes follow docs/boot-state.md: the whole sector holding the record goes into the slot that
// does not hold the current copy, then the device is flushed.

import { BankforgeError } from '../support/errors.js';
import { readTargetGpt, withFileSource } from './file-source.js';
import type { BlockDevice } from './device.js';
import type { GptPartition, GptReadResult } from '../partitions/gpt.js';
import { Bank, encodeState, readState, slotOffsets, STATE, type BankState, type BankView } from '../partitions/bankstate.js';
import type { ByteSource } from '../partitions/sink.js';
import type { Bytes, SectorSize } from '../partitions/units.js';

export interface BankRef {
  bank: Bank;
  partition: GptPartition;
  /** Partition start and size in bytes. */
  offset: Bytes;
  size: Bytes;
  view: BankView;
}

export interface DiskBanks { sectorSize: SectorSize; banks: [BankRef | undefined, BankRef | undefined] }

export function readBanks(path: string): Promise<DiskBanks> {
  return withFileSource(path, (src) => readBanksFrom(src, path));
}

/** The banks of an already open image or device, and its GPT when read already; `name` is for messages. */
export async function readBanksFrom(src: ByteSource, name: string, table?: GptReadResult): Promise<DiskBanks> {
  const gpt = table ?? await readTargetGpt(src, name);
  const banks: [BankRef | undefined, BankRef | undefined] = [undefined, undefined];
  for (const p of gpt.partitions) {
    const offset = p.firstLba * gpt.sectorSize;
    const size = (p.lastLba - p.firstLba + 1) * gpt.sectorSize;
    if (size < STATE.areaSize || offset + size > src.size) continue;
    const [o0, o1] = slotOffsets(size);
    const view = readState(await src.read(offset + o0, STATE.recordSize), await src.read(offset + o1, STATE.recordSize));
    if (!view) continue;
    const bank = view.state.bank === Bank.B ? Bank.B : Bank.A;
    if (banks[bank]) throw new BankforgeError(`${name}: partitions ${banks[bank]!.partition.index + 1} and ${p.index + 1} both claim to be bank ${bank === Bank.A ? 'A' : 'B'}`);
    banks[bank] = { bank, partition: p, offset, size, view };
  }
  return { sectorSize: gpt.sectorSize, banks };
}

/** Write `state` as the next copy of `ref`'s record; returns the updated view. */
export async function writeBankState(path: string, sectorSize: SectorSize, ref: BankRef, state: BankState): Promise<BankView> {
  // Loaded here: `status` and the other readers need none of the write path (device.ts, the write lock).
  const { openBlockDevice } = await import('./device.js');
  const dev = await openBlockDevice(path, sectorSize);
  try {
    return await writeBankStateTo(dev, sectorSize, ref, state);
  } finally {
    await dev.close();
  }
}

/** The same write on an open device: one whole sector into the non-current slot, then a flush. */
export async function writeBankStateTo(dev: BlockDevice, sectorSize: SectorSize, ref: BankRef, state: BankState): Promise<BankView> {
  const slot = (ref.view.currentSlot ^ 1) as 0 | 1;
  const sector = Buffer.alloc(Math.max(sectorSize, STATE.recordSize));
  encodeState(state).copy(sector);
  await dev.write(ref.offset + slotOffsets(ref.size)[slot], sector);
  await dev.flush();
  return { present: true, currentSlot: slot, state };
}
