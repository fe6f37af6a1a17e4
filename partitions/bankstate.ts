// Boot-bank state records and bank selection: the TypeScript twin of common/bankstate.c, for
// the builder (initial records), inspect/status, upgrade, rollback and mark-good. The spec is
// docs/boot-state.md; the host tests hold this file and the C code to the same bytes and the
// same decisions.

import { crc32 } from './crc32.js';
import type { Bytes } from './units.js';

export const STATE = {
  magic: 'BFBANKST',
  format: 1,
  recordSize: 512,
  slotSize: 4096,
  areaSize: 8192,
  versionLen: 32,
  detailLen: 64,
  history: 16,
  defaultTries: 3,
} as const;

/** Record field offsets (docs/boot-state.md, "The record"). */
const OFF = {
  magic: 0, format: 8, size: 10, seq: 12, bank: 16, bootstate: 17, triesLeft: 18, triesMax: 19,
  updated: 20, reason: 24, flags: 25, version: 32, detail: 64, history: 128, historyEntry: 8, crc: 508,
} as const;

export enum Bank { A = 0, B = 1 }
export enum BootState { Valid = 0, New = 1, Trying = 2, Invalid = 3 }
export enum Reason { None = 0, TriesExhausted = 1, VerifyFailed = 2, LoadFailed = 3, BadConfig = 4, UpgradeStarted = 5, Empty = 6, RolledBack = 7, Watchdog = 8 }
/** Record flags (the `flags` byte). */
export const FLAG = {
  /** The current try runs with the hardware watchdog armed. */
  watchdog: 0x01,
} as const;

export enum StateEvent { None = 0, Installed = 1, Try = 2, Good = 3, Invalid = 4, Rollback = 5 }

export interface HistoryEntry { seq: number; event: number; bootstate: number; triesLeft: number; reason: number }

export interface BankState {
  seq: number;
  bank: number;
  bootstate: number;
  triesLeft: number;
  triesMax: number;
  updated: number;
  reason: number;
  /** FLAG bits. */
  flags: number;
  /** Raw NUL-padded field bytes, kept so that decode/encode round-trips exactly. */
  version: Buffer;
  detail: Buffer;
  history: HistoryEntry[];
}

export interface BankView { present: boolean; currentSlot: 0 | 1; state: BankState }

export function text(field: Buffer): string {
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? field.length : nul).toString('utf8');
}

function padded(s: string, len: number): Buffer {
  const b = Buffer.alloc(len);
  Buffer.from(s, 'utf8').copy(b, 0, 0, len);
  return b;
}

export function newState(fields: { bank: Bank; bootstate: BootState; updated: number; triesMax?: number; reason?: Reason; version?: string; detail?: string; seq?: number }): BankState {
  const triesMax = fields.triesMax ?? STATE.defaultTries;
  return {
    seq: fields.seq ?? 1, bank: fields.bank, bootstate: fields.bootstate, triesLeft: triesMax, triesMax,
    updated: fields.updated, reason: fields.reason ?? Reason.None, flags: 0,
    version: padded(fields.version ?? '', STATE.versionLen), detail: padded(fields.detail ?? '', STATE.detailLen),
    history: Array.from({ length: STATE.history }, () => ({ seq: 0, event: 0, bootstate: 0, triesLeft: 0, reason: 0 })),
  };
}

export function decodeState(rec: Uint8Array): BankState | undefined {
  const b = Buffer.from(rec.buffer, rec.byteOffset, Math.min(rec.length, STATE.recordSize));
  if (b.length < STATE.recordSize) return undefined;
  if (b.toString('latin1', OFF.magic, OFF.magic + 8) !== STATE.magic) return undefined;
  if (b.readUInt16LE(OFF.format) !== STATE.format || b.readUInt16LE(OFF.size) !== STATE.recordSize) return undefined;
  if (b.readUInt32LE(OFF.crc) !== crc32(b.subarray(0, OFF.crc))) return undefined;
  return {
    seq: b.readUInt32LE(OFF.seq), bank: b[OFF.bank]!, bootstate: b[OFF.bootstate]!, triesLeft: b[OFF.triesLeft]!,
    triesMax: b[OFF.triesMax]!, updated: b.readUInt32LE(OFF.updated), reason: b[OFF.reason]!, flags: b[OFF.flags]!,
    version: Buffer.from(b.subarray(OFF.version, OFF.version + STATE.versionLen)),
    detail: Buffer.from(b.subarray(OFF.detail, OFF.detail + STATE.detailLen)),
    history: Array.from({ length: STATE.history }, (_, i) => {
      const o = OFF.history + i * OFF.historyEntry;
      return { seq: b.readUInt32LE(o), event: b[o + 4]!, bootstate: b[o + 5]!, triesLeft: b[o + 6]!, reason: b[o + 7]! };
    }),
  };
}

export function encodeState(s: BankState): Buffer {
  const b = Buffer.alloc(STATE.recordSize);
  b.write(STATE.magic, OFF.magic, 'latin1');
  b.writeUInt16LE(STATE.format, OFF.format);
  b.writeUInt16LE(STATE.recordSize, OFF.size);
  b.writeUInt32LE(s.seq >>> 0, OFF.seq);
  b[OFF.bank] = s.bank;
  b[OFF.bootstate] = s.bootstate;
  b[OFF.triesLeft] = s.triesLeft;
  b[OFF.triesMax] = s.triesMax;
  b.writeUInt32LE(s.updated >>> 0, OFF.updated);
  b[OFF.reason] = s.reason;
  b[OFF.flags] = s.flags;
  s.version.copy(b, OFF.version, 0, STATE.versionLen);
  s.detail.copy(b, OFF.detail, 0, STATE.detailLen);
  s.history.forEach((h, i) => {
    const o = OFF.history + i * OFF.historyEntry;
    b.writeUInt32LE(h.seq >>> 0, o);
    b[o + 4] = h.event; b[o + 5] = h.bootstate; b[o + 6] = h.triesLeft; b[o + 7] = h.reason;
  });
  b.writeUInt32LE(crc32(b.subarray(0, OFF.crc)), OFF.crc);
  return b;
}

/** Both copies of a bank; the newer valid one (by signed sequence difference) is current. */
export function readState(slot0: Uint8Array, slot1: Uint8Array): BankView | undefined {
  const s0 = decodeState(slot0), s1 = decodeState(slot1);
  if (!s0 && !s1) return undefined;
  if (s1 && (!s0 || ((s1.seq - s0.seq) | 0) > 0)) return { present: true, currentSlot: 1, state: s1 };
  return { present: true, currentSlot: 0, state: s0! };
}

function clone(s: BankState): BankState {
  return { ...s, version: Buffer.from(s.version), detail: Buffer.from(s.detail), history: s.history.map((h) => ({ ...h })) };
}

/** A copy with seq + 1: the start of the next version, to be written to slot currentSlot ^ 1. */
export function nextState(v: BankView): BankState {
  const n = clone(v.state);
  n.seq = (v.state.seq + 1) >>> 0;
  return n;
}

export function pushEvent(s: BankState, event: StateEvent): void {
  s.history.pop();
  s.history.unshift({ seq: s.seq, event, bootstate: s.bootstate, triesLeft: s.triesLeft, reason: s.reason });
}

export function bootable(v: BankView | undefined): boolean {
  if (!v) return false;
  const s = v.state;
  return s.bootstate === BootState.Valid || ((s.bootstate === BootState.New || s.bootstate === BootState.Trying) && s.triesLeft > 0);
}

export function failState(v: BankView, reason: Reason, detail: string): BankState {
  const n = nextState(v);
  n.bootstate = BootState.Invalid;
  n.reason = reason;
  n.flags = 0;
  n.detail = padded(detail, STATE.detailLen);
  pushEvent(n, StateEvent.Invalid);
  return n;
}

/** The kernel's (and `bankforge mark-good`'s) update; undefined when no write is needed. */
export function markGood(v: BankView | undefined): BankState | undefined {
  if (!v || (v.state.bootstate !== BootState.New && v.state.bootstate !== BootState.Trying)) return undefined;
  const n = nextState(v);
  n.bootstate = BootState.Valid;
  n.triesLeft = n.triesMax;
  n.reason = Reason.None;
  n.flags = 0;
  n.detail = Buffer.alloc(STATE.detailLen);
  pushEvent(n, StateEvent.Good);
  return n;
}

export interface StateWrite { bank: Bank; slot: 0 | 1; state: BankState }
export interface Selection { bank: Bank | -1; writes: StateWrite[] }

const onArmedTrial = (v: BankView | undefined): boolean => !!v && v.state.bootstate === BootState.Trying && (v.state.flags & FLAG.watchdog) !== 0;

/**
 * The loader's choice, as docs/boot-state.md "Choosing a bank" says. `watchdogReset`: the
 * watchdog's hardware says it caused the last reset; it is laid to the one bank whose try ran
 * armed ("The watchdog").
 */
export function select(banks: [BankView | undefined, BankView | undefined], preferOther = false, watchdogReset = false): Selection {
  const v = [banks[0] && { ...banks[0], state: clone(banks[0].state) }, banks[1] && { ...banks[1], state: clone(banks[1].state) }];
  const writes: StateWrite[] = [];
  const write = (bank: Bank, next: BankState) => {
    const view = v[bank]!;
    writes.push({ bank, slot: (view.currentSlot ^ 1) as 0 | 1, state: next });
    v[bank] = { present: true, currentSlot: (view.currentSlot ^ 1) as 0 | 1, state: next };
  };
  // With both banks on an armed trial the records cannot say which booted last: neither is blamed.
  const hung = watchdogReset && onArmedTrial(v[0]) !== onArmedTrial(v[1]) ? (onArmedTrial(v[0]) ? Bank.A : Bank.B) : -1;
  for (const bank of [Bank.A, Bank.B]) {
    const s = v[bank]?.state;
    if (s && (s.bootstate === BootState.New || s.bootstate === BootState.Trying) && s.triesLeft === 0) {
      write(bank, bank === hung
        ? failState(v[bank]!, Reason.Watchdog, 'watchdog reset in its last try: never marked good')
        : failState(v[bank]!, Reason.TriesExhausted, 'no tries left: never marked good'));
    }
  }
  let winner: Bank;
  const a = bootable(v[0]), b = bootable(v[1]);
  if (a && b) {
    winner = v[1]!.state.updated > v[0]!.state.updated ? Bank.B : Bank.A;
    if (preferOther) winner ^= 1;
  } else if (a) winner = Bank.A;
  else if (b) winner = Bank.B;
  else return { bank: -1, writes };
  if (v[winner]!.state.bootstate !== BootState.Valid) {
    const n = nextState(v[winner]!);
    if (winner === hung) {
      n.reason = Reason.Watchdog;
      n.detail = padded(`watchdog reset in try ${n.triesMax - n.triesLeft} of ${n.triesMax}`, STATE.detailLen);
    }
    n.bootstate = BootState.Trying;
    n.triesLeft -= 1;
    n.flags &= ~FLAG.watchdog & 0xff;
    pushEvent(n, StateEvent.Try);
    write(winner, n);
  }
  return { bank: winner, writes };
}

/** The loader arms the watchdog for this boot: the chosen bank's try write says so. */
export function armSelection(sel: Selection): void {
  for (const w of sel.writes) if (w.bank === sel.bank && w.state.bootstate === BootState.Trying) w.state.flags |= FLAG.watchdog;
}

/** Where a bank partition's state slots are, in bytes from the partition start. */
export function slotOffsets(partitionSize: Bytes): [Bytes, Bytes] {
  const area = partitionSize - STATE.areaSize;
  return [area, area + STATE.slotSize];
}

export const REASON_TEXT: Record<number, string> = {
  0: 'none', 1: 'tries exhausted', 2: 'verification failed', 3: 'load failed', 4: 'bad boot.cfg',
  5: 'upgrade started', 6: 'empty', 7: 'rolled back', 8: 'watchdog',
};
export const BOOTSTATE_TEXT: Record<number, string> = { 0: 'valid', 1: 'new', 2: 'trying', 3: 'invalid' };
export const EVENT_TEXT: Record<number, string> = { 0: '', 1: 'installed', 2: 'try', 3: 'good', 4: 'invalid', 5: 'rollback' };
