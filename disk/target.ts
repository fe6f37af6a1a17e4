// Opening the disk an upgrade, rollback or mark-good works on (an image file or a block device):
// its GPT and both boot banks, and the roles the loader would give them on the next boot.

import { BankforgeError } from '../support/errors.js';
import { readBanksFrom, readBanks, type BankRef, type DiskBanks } from './bank-state.js';
import { Bank, select, type Selection } from '../partitions/bankstate.js';
import type { SectorSize } from '../partitions/units.js';
import type { BlockDevice } from './device.js';

export interface Target {
  dev: BlockDevice;
  sectorSize: SectorSize;
  banks: [BankRef, BankRef];
}

export interface TargetOptions {
  /** Wraps the device every write goes through (the power-cut harness records with it). */
  wrap?: (dev: BlockDevice) => BlockDevice;
}

export const bankLetter = (b: Bank): 'A' | 'B' => (b === Bank.A ? 'A' : 'B');

export async function openTarget(path: string, opts: TargetOptions = {}): Promise<Target> {
  // The sector size (the write unit) comes from the GPT, read while the write lock's helper starts;
  // the banks decided on are read again through the locked device.
  const sectorSize = readBanks(path).then((d) => d.sectorSize);
  sectorSize.catch(() => undefined); // awaited by openBlockDevice, which reports it; not unhandled meanwhile
  // Loaded here: `status`, which imports this file for the bank roles, writes nothing.
  const { openBlockDevice } = await import('./device.js');
  const raw = await openBlockDevice(path, sectorSize);
  const dev = opts.wrap ? opts.wrap(raw) : raw;
  try {
    return { dev, sectorSize: await sectorSize, banks: bothBanks(await readBanksFrom(dev, path), path) };
  } catch (e) {
    await dev.close();
    throw e;
  }
}

export function bothBanks(disk: DiskBanks, path: string): [BankRef, BankRef] {
  const [a, b] = disk.banks;
  if (!a || !b) throw new BankforgeError(`${path}: bank ${a ? 'B' : 'A'} not found (no partition ends in a valid state record); not an A/B image`);
  return [a, b];
}

/** What the loader would do on the next boot (docs/boot-state.md, "Choosing a bank"). */
export function nextBoot(banks: [BankRef, BankRef]): Selection {
  return select([banks[0].view, banks[1].view]);
}
