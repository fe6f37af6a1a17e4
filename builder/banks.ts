// Finding the boot banks of an image or device and reading and writing their state records,
// the way the loader does: a bank is a partition whose last 8 KiB hold a valid record.
// Writes follow docs/boot-state.md: the whole sector holding the record goes into the slot that
// does not hold the current copy, then the file is flushed.

import { open } from 'node:fs/promises';
import { BankforgeError } from './errors.js';
import { openFileSource } from './image/file-source.js';
import { readGpt, type GptPartition } from '../partitions/gpt.js';
import { Bank, encodeState, readState, slotOffsets, STATE, type BankState, type BankView } from '../partitions/bankstate.js';
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

export async function readBanks(path: string): Promise<DiskBanks> {
  const src = await openFileSource(path);
  try {
    const gpt = await readGpt(src);
    const banks: [BankRef | undefined, BankRef | undefined] = [undefined, undefined];
    for (const p of gpt.partitions) {
      const offset = p.firstLba * gpt.sectorSize;
      const size = (p.lastLba - p.firstLba + 1) * gpt.sectorSize;
      if (size < STATE.areaSize || offset + size > src.size) continue;
      const [o0, o1] = slotOffsets(size);
      const view = readState(await src.read(offset + o0, STATE.recordSize), await src.read(offset + o1, STATE.recordSize));
      if (!view) continue;
      const bank = view.state.bank === Bank.B ? Bank.B : Bank.A;
      if (banks[bank]) throw new BankforgeError(`${path}: partitions ${banks[bank]!.partition.index + 1} and ${p.index + 1} both claim to be bank ${bank === Bank.A ? 'A' : 'B'}`);
      banks[bank] = { bank, partition: p, offset, size, view };
    }
    return { sectorSize: gpt.sectorSize, banks };
  } finally {
    await src.close();
  }
}

/** Write `state` as the next copy of `ref`'s record; returns the updated view. */
export async function writeBankState(path: string, sectorSize: SectorSize, ref: BankRef, state: BankState): Promise<BankView> {
  const slot = (ref.view.currentSlot ^ 1) as 0 | 1;
  const sector = Buffer.alloc(Math.max(sectorSize, STATE.recordSize));
  encodeState(state).copy(sector);
  const fh = await open(path, 'r+');
  try {
    await fh.write(sector, 0, sector.length, ref.offset + slotOffsets(ref.size)[slot]);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { present: true, currentSlot: slot, state };
}
