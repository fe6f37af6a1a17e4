// `bankforge rollback`: make the other bank the one that boots, as ESXi's Shift+R does but
// for good. The other bank must be valid (booted and marked good at some point); it gets
// `updated` = the booting bank's + 1, so the selection rule itself now picks it, with reason
// "rolled back" and a rollback event in its history. Only that bank's record is written (both
// copies): the bank rolled away from keeps its state and can be rolled back to the same way.

import { BankforgeError } from '../support/errors.js';
import { BOOTSTATE_TEXT, BootState, nextState, pushEvent, Reason, REASON_TEXT, StateEvent, STATE, text } from '../partitions/bankstate.js';
import { writeStateMirrored } from './state-write.js';
import { bankLetter, nextBoot, openTarget, type TargetOptions } from './target.js';

export interface RollbackResult { from: 'A' | 'B'; to: 'A' | 'B'; version: string; updated: number }

export async function rollback(path: string, opts: TargetOptions = {}): Promise<RollbackResult> {
  const t = await openTarget(path, opts);
  try {
    const sel = nextBoot(t.banks);
    if (sel.bank === -1) throw new BankforgeError(`${path}: no bank is bootable; there is nothing to roll back to`);
    const cur = t.banks[sel.bank]!;
    const other = t.banks[sel.bank ^ 1]!;
    const o = other.view.state;
    if (o.bootstate !== BootState.Valid) {
      const why = o.bootstate === BootState.Invalid ? `: ${REASON_TEXT[o.reason] ?? o.reason}${text(o.detail) ? ` (${text(o.detail)})` : ''}` : ' (never marked good)';
      throw new BankforgeError(`${path}: bank ${bankLetter(other.bank)} is ${BOOTSTATE_TEXT[o.bootstate] ?? o.bootstate}${why}; only a valid bank can be rolled back to`);
    }
    const next = nextState(other.view);
    next.updated = (cur.view.state.updated + 1) >>> 0;
    next.reason = Reason.RolledBack;
    next.detail = Buffer.alloc(STATE.detailLen);
    next.detail.write(`rolled back from bank ${bankLetter(cur.bank)} (${text(cur.view.state.version)})`.slice(0, STATE.detailLen), 'utf8');
    pushEvent(next, StateEvent.Rollback);
    await writeStateMirrored(t.dev, t.sectorSize, other, next);
    return { from: bankLetter(cur.bank), to: bankLetter(other.bank), version: text(o.version), updated: next.updated };
  } finally {
    await t.dev.close();
  }
}
