// Building and doctoring images for boot tests: build quietly, change a bank's state the way an
// upgrade or the loader would, corrupt a file inside a bank, swap a bank in from another image.

import { open } from 'node:fs/promises';
import { build, type BuildOptions } from '../../builder/build.js';
import { readBanks, writeBankState } from '../../disk/bank-state.js';
import { Bank, nextState, pushEvent, StateEvent, type BankState } from '../../partitions/bankstate.js';
import { FatVolume, fileSectorDevice } from '../../partitions/fat/index.js';

export const quiet = { step() {}, done() {} };

export async function buildQuiet(opts: Omit<BuildOptions, 'progress'>): Promise<void> {
  await build({ bootTimeout: 0, ...opts, progress: quiet });
}

/** Writes the next record of `bank` after `change` edits it (as upgrade, loader or kernel would). */
export async function changeBank(image: string, bank: Bank, change: (s: BankState) => void, event = StateEvent.Installed): Promise<void> {
  const disk = await readBanks(image);
  const ref = disk.banks[bank];
  if (!ref) throw new Error(`${image} has no bank ${bank}`);
  const next = nextState(ref.view);
  change(next);
  pushEvent(next, event);
  await writeBankState(image, disk.sectorSize, ref, next);
}

/** Flips one byte in the middle of `file` in `bank`'s FAT, found by its content. */
export async function corruptBankFile(image: string, bank: Bank, file: string): Promise<void> {
  const disk = await readBanks(image);
  const ref = disk.banks[bank]!;
  const dev = await fileSectorDevice(image, ref.offset, ref.size, disk.sectorSize, false);
  const vol = await FatVolume.open(dev, { readOnly: true });
  const content = await vol.readFile(file);
  await vol.close();
  await dev.close();
  const fh = await open(image, 'r+');
  try {
    const part = Buffer.alloc(ref.size);
    await fh.read(part, 0, part.length, ref.offset);
    const at = Math.floor(content.length / 2);
    const probe = content.subarray(at, at + 64);
    const where = part.indexOf(probe);
    if (where < 0) throw new Error(`${file} not found in bank ${bank} of ${image}`);
    const b = Buffer.from([part[where]! ^ 0xff]);
    await fh.write(b, 0, 1, ref.offset + where);
  } finally {
    await fh.close();
  }
}
