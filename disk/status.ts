// `bankforge status`: what the loader will do on the next boot and why, from the two banks'
// state records: versions, states, tries left, the last failure and the history each record
// keeps, and whether both copies of each record are intact. Reads only.

import { readBanks, type BankRef } from './bank-state.js';
import { BOOTSTATE_TEXT, BootState, decodeState, EVENT_TEXT, REASON_TEXT, slotOffsets, STATE, text } from '../partitions/bankstate.js';
import type { Bytes, SectorSize } from '../partitions/units.js';
import { openFileSource } from './file-source.js';
import { bankLetter, bothBanks, nextBoot } from './target.js';

export interface StatusEvent { seq: number; event: string; bootstate: string; triesLeft: number; reason: string }

export interface BankStatus {
  bank: 'A' | 'B';
  partition: { number: number; name: string; offset: Bytes; size: Bytes };
  version: string;
  bootstate: string;
  triesLeft: number;
  triesMax: number;
  updated: number;
  /** The last failure (or rollback), '' when none. */
  reason: string;
  detail: string;
  seq: number;
  slot: 0 | 1;
  /** Each slot: the seq of a valid copy, or null for a copy that does not decode (torn, damaged, never written). */
  copies: [number | null, number | null];
  history: StatusEvent[];
}

export interface StatusReport {
  target: string;
  sectorSize: SectorSize;
  /** The bank the loader boots next, null when none is bootable. */
  next: 'A' | 'B' | null;
  /** What the loader will write before booting it, in words ("B: on trial, try 1 of 3"). */
  loaderWrites: string[];
  banks: BankStatus[];
}

export async function status(path: string): Promise<StatusReport> {
  const disk = await readBanks(path);
  const banks = bothBanks(disk, path);
  const sel = nextBoot(banks);
  const src = await openFileSource(path);
  try {
    const out: BankStatus[] = [];
    for (const ref of banks) out.push(await bankStatus(ref, async (o) => decodeState(await src.read(o, STATE.recordSize))?.seq ?? null));
    return {
      target: path,
      sectorSize: disk.sectorSize,
      next: sel.bank === -1 ? null : bankLetter(sel.bank),
      loaderWrites: sel.writes.map((w) => {
        const s = w.state;
        return `${bankLetter(w.bank)}: ${s.bootstate === BootState.Trying ? `on trial, try ${s.triesMax - s.triesLeft} of ${s.triesMax}` : `${BOOTSTATE_TEXT[s.bootstate]} (${REASON_TEXT[s.reason]})`}`;
      }),
      banks: out,
    };
  } finally {
    await src.close();
  }
}

async function bankStatus(ref: BankRef, seqAt: (offset: Bytes) => Promise<number | null>): Promise<BankStatus> {
  const s = ref.view.state;
  const [o0, o1] = slotOffsets(ref.size);
  const name = (table: Record<number, string>, v: number) => table[v] ?? `unknown (${v})`;
  return {
    bank: bankLetter(ref.bank),
    partition: { number: ref.partition.index + 1, name: ref.partition.name, offset: ref.offset, size: ref.size },
    version: text(s.version),
    bootstate: name(BOOTSTATE_TEXT, s.bootstate),
    triesLeft: s.triesLeft,
    triesMax: s.triesMax,
    updated: s.updated,
    reason: s.reason ? name(REASON_TEXT, s.reason) : '',
    detail: text(s.detail),
    seq: s.seq,
    slot: ref.view.currentSlot,
    copies: [await seqAt(ref.offset + o0), await seqAt(ref.offset + o1)],
    history: s.history.filter((h) => h.event !== 0).map((h) => ({
      seq: h.seq, event: name(EVENT_TEXT, h.event), bootstate: name(BOOTSTATE_TEXT, h.bootstate), triesLeft: h.triesLeft, reason: name(REASON_TEXT, h.reason),
    })),
  };
}
