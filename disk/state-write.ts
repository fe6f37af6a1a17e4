// bankforge's own state writes (upgrade, rollback, mark-good): the record goes into both slots,
// one after the other, each a whole sector followed by a flush (docs/upgrade.md, "Mirrored state
// writes"). The first write is the loader's kind of update (seq + 1 into the non-current slot)
// and is the moment the change takes effect; the second (seq + 2, same content) replaces the old
// copy, so that afterwards a damaged copy of either slot still reads as the new state.
// Both are read back and decoded before the function returns.

import { BankforgeError } from '../support/errors.js';
import { writeBankStateTo, type BankRef } from './bank-state.js';
import { readState, slotOffsets, STATE, type BankState } from '../partitions/bankstate.js';
import type { SectorSize } from '../partitions/units.js';
import type { BlockDevice } from './device.js';
import { bankLetter } from './target.js';

export async function writeStateMirrored(dev: BlockDevice, sectorSize: SectorSize, ref: BankRef, state: BankState): Promise<BankRef> {
  const first = await writeBankStateTo(dev, sectorSize, ref, state);
  const again = { ...state, seq: (state.seq + 1) >>> 0 };
  const view = await writeBankStateTo(dev, sectorSize, { ...ref, view: first }, again);
  const [o0, o1] = slotOffsets(ref.size);
  const back = readState(await dev.read(ref.offset + o0, STATE.recordSize), await dev.read(ref.offset + o1, STATE.recordSize));
  if (!back || back.state.seq !== again.seq || back.state.bootstate !== state.bootstate || back.state.updated !== state.updated) {
    throw new BankforgeError(`${dev.name}: bank ${bankLetter(ref.bank)}: the state record read back at byte ${ref.offset + o0} is not the one written (seq ${again.seq}, bootstate ${state.bootstate}); the disk may be failing`);
  }
  return { ...ref, view };
}
