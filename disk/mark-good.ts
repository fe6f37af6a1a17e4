// `bankforge mark-good`: what the kernel does once healthy (docs/boot-state.md, "Marking
// good"), from the host: for a disk whose running system cannot write the state itself (our
// kernel has no USB driver yet) or after checking a trial boot by hand. It marks the bank that
// boots next, when that bank is new or on trial; a valid bank is left unwritten.

import { BankforgeError } from '../support/errors.js';
import { markGood as markGoodState, text } from '../partitions/bankstate.js';
import { writeStateMirrored } from './state-write.js';
import { bankLetter, nextBoot, openTarget, type TargetOptions } from './target.js';

export interface MarkGoodResult { bank: 'A' | 'B'; version: string; written: boolean }

export async function markGood(path: string, opts: TargetOptions = {}): Promise<MarkGoodResult> {
  const t = await openTarget(path, opts);
  try {
    const sel = nextBoot(t.banks);
    if (sel.bank === -1) throw new BankforgeError(`${path}: no bank is bootable; there is nothing to mark good`);
    const ref = t.banks[sel.bank]!;
    const next = markGoodState(ref.view);
    if (next) await writeStateMirrored(t.dev, t.sectorSize, ref, next);
    return { bank: bankLetter(ref.bank), version: text(ref.view.state.version), written: next !== undefined };
  } finally {
    await t.dev.close();
  }
}
