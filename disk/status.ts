// `bankforge status`: what the loader will do on the next boot and why, from the two banks'
// state records: versions, states, tries left, the last failure and the history each record
// keeps, and whether both copies of each record are intact; why each bank was last failed or
// rolled back, in words, with the kernel's panic message when a core dump from that bank and
// version waits; and how many core dumps wait. Reads only.

import { readBanksFrom, type BankRef } from './bank-state.js';
import { BOOTSTATE_TEXT, BootState, decodeState, EVENT_TEXT, REASON_TEXT, slotOffsets, STATE, text } from '../partitions/bankstate.js';
import type { ByteSource } from '../partitions/sink.js';
import type { Bytes, SectorSize } from '../partitions/units.js';
import { openFileSource, readTargetGpt } from './file-source.js';
import type { GptReadResult } from '../partitions/gpt.js';
import { bankLetter, bothBanks, nextBoot } from './target.js';
import { readDumpHeadersFrom, type DiskHeaders } from './coredump/read.js';
import { BankforgeError } from '../support/errors.js';

export interface StatusEvent { seq: number; event: string; bootstate: string; triesLeft: number; reason: string }

export interface BankStatus {
  bank: 'A' | 'B';
  partition: { number: number; name: string; offset: Bytes; size: Bytes };
  version: string;
  bootstate: string;
  triesLeft: number;
  triesMax: number;
  updated: number;
  /** The last failure (or rollback), '' when none: REASON_TEXT's name, so every code the format defines shows. */
  reason: string;
  detail: string;
  /** The reason and its detail in one sentence ('' when none), with what it means for this bank. */
  why: string;
  /** The newest waiting core dump written by this bank's kernel at this version, if any. */
  panic?: { seq: number; message: string };
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
  /** Core dumps not yet cleared, and the command that reads them; null without a core-dump partition or when it cannot be read. */
  coredumps: { waiting: number; newestSeq: number | null; command: string; problem?: string } | null;
}

/** What a reason means, beyond its name (keyed by REASON_TEXT's names; a code without an entry shows by name alone). */
const MEANING: Readonly<Record<string, (b: { triesMax: number }) => string>> = {
  'tries exhausted': (b) => `booted ${b.triesMax} time${b.triesMax === 1 ? '' : 's'} on trial without a mark-good (the kernel never reported itself healthy: it panicked, hung or was reset before its ready line)`,
  'verification failed': () => "a file in the bank did not match its sha256 in SHA256SUMS, so the loader would not boot it",
  'load failed': () => 'the loader could not read or load the kernel or a module',
  'bad boot.cfg': () => "the loader could not parse the bank's boot.cfg",
  'upgrade started': () => 'an upgrade began writing this bank and did not finish',
  'rolled back': () => 'the other bank was chosen by hand (bankforge rollback, or Shift+R at the loader)',
  watchdog: () => 'the watchdog reset a hung trial boot',
};

function why(reason: string, detail: string, triesMax: number): string {
  if (!reason) return '';
  const meaning = Object.hasOwn(MEANING, reason) ? MEANING[reason]!({ triesMax }) : '';
  return [reason, meaning, detail ? `detail: ${detail}` : ''].filter(Boolean).join('; ');
}

async function coredumps(src: ByteSource, path: string, gpt: GptReadResult): Promise<{ disk?: DiskHeaders; report: StatusReport['coredumps'] }> {
  try {
    const disk = await readDumpHeadersFrom(src, path, gpt);
    const waiting = disk.entries.filter((d) => !d.cleared);
    const newestSeq = waiting.reduce<number | null>((m, d) => (m === null || d.header.seq > m ? d.header.seq : m), null);
    return { disk, report: { waiting: waiting.length, newestSeq, command: `bankforge coredump ${shellWord(path)}` } };
  } catch (e) {
    // A missing or damaged core-dump partition does not stop status from saying what it knows of the banks.
    if (!(e instanceof BankforgeError)) throw e;
    return { report: /no core-dump partition/.test(e.message) ? null : { waiting: 0, newestSeq: null, command: `bankforge coredump ${shellWord(path)}`, problem: e.message } };
  }
}

export async function status(path: string): Promise<StatusReport> {
  // One open, one probe and one GPT read of the target for the banks, their copies and the dumps.
  const src = await openFileSource(path);
  try {
    // The partitions only: the table's health is inspect's to report.
    const gpt = await readTargetGpt(src, path, undefined, { primaryOnly: true });
    const disk = await readBanksFrom(src, path, gpt);
    const banks = bothBanks(disk, path);
    const sel = nextBoot(banks);
    const dumps = await coredumps(src, path, gpt);
    const out: BankStatus[] = [];
    for (const ref of banks) out.push(await bankStatus(ref, async (o) => decodeState(await src.read(o, STATE.recordSize))?.seq ?? null, dumps.disk));
    return {
      target: path,
      sectorSize: disk.sectorSize,
      next: sel.bank === -1 ? null : bankLetter(sel.bank),
      loaderWrites: sel.writes.map((w) => {
        const s = w.state;
        return `${bankLetter(w.bank)}: ${s.bootstate === BootState.Trying ? `on trial, try ${s.triesMax - s.triesLeft} of ${s.triesMax}` : `${BOOTSTATE_TEXT[s.bootstate]} (${REASON_TEXT[s.reason]})`}`;
      }),
      banks: out,
      coredumps: dumps.report,
    };
  } finally {
    await src.close();
  }
}

async function bankStatus(ref: BankRef, seqAt: (offset: Bytes) => Promise<number | null>, disk: DiskHeaders | undefined): Promise<BankStatus> {
  const s = ref.view.state;
  const reason = s.reason ? (REASON_TEXT[s.reason] ?? `unknown (${s.reason})`) : '';
  const detail = text(s.detail);
  // The kernel records which bank it booted from and its build in every dump.
  const panic = disk?.entries.filter((d) => !d.cleared && d.header.bank === ref.bank && d.header.build === text(s.version))
    .sort((a, b) => b.header.seq - a.header.seq)[0];
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
    reason,
    detail,
    why: why(reason, detail, s.triesMax),
    ...(panic ? { panic: { seq: panic.header.seq, message: panic.header.reason } } : {}),
    seq: s.seq,
    slot: ref.view.currentSlot,
    copies: [await seqAt(ref.offset + o0), await seqAt(ref.offset + o1)],
    history: s.history.filter((h) => h.event !== 0).map((h) => ({
      seq: h.seq, event: name(EVENT_TEXT, h.event), bootstate: name(BOOTSTATE_TEXT, h.bootstate), triesLeft: h.triesLeft, reason: name(REASON_TEXT, h.reason),
    })),
  };
}

/** A path as one shell word, so the command shown can be pasted. */
function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, "'\\''")}'`;
}
