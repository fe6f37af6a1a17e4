// `bankforge coredump`'s work on the dumps read.ts finds: resolve their backtraces against the
// kernel that wrote them, and render them as text or JSON; extract them to files; clear the partition.

import { lstat, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BankforgeError } from '../../support/errors.js';
import { createOutputDirectory, outputError } from '../../support/output-file.js';
import { openBlockDevice } from '../device.js';
import { BOOTSTATE_TEXT } from '../../partitions/bankstate.js';
import { Cause, clearHeader, COREDUMP, REGISTERS, type Dump } from '../../partitions/coredump.js';
import type { Disk } from './read.js';
import { FatVolume, fileSectorDevice } from '../../partitions/fat/index.js';
import type { Bytes, SectorSize } from '../../partitions/units.js';
import { elfSymbols, ElfError, matchesDump, symbolize, type ElfSymbol, type Frame } from './symbols.js';
import { FileInputError, readRegularFile } from '../../support/regular-file.js';

/** Writes a partition header that frees every slot; touches only the partition's first block. */
export async function clearDumps(disk: Disk): Promise<number> {
  const header = clearHeader(disk.geometry, disk.dumps);
  const dev = await openBlockDevice(disk.target, disk.partition.sectorSize);
  try {
    await dev.write(disk.partition.offset, header.subarray(0, COREDUMP.block));
    await dev.flush();
  } finally {
    await dev.close();
  }
  return disk.dumps.reduce((m, d) => Math.max(m, d.header.seq), disk.geometry.clearedSeq);
}

export interface ResolvedFrame { address: string; frames: Frame[] }
export interface Symbols { elf: string; tool: string; warning?: string }

/** Our kernel is a few hundred KiB; a debug build a few MiB. */
const KERNEL_ELF_MAX = 256 * 1024 * 1024;

/**
 * The kernel ELF that wrote `d`: --kernel, else `<target>.kernel.elf` (what `bankforge build`
 * leaves beside an image), else kernel.elf in the bank that was running; the first whose symbols
 * match the dump (an explicit --kernel is used even when not, with a warning).
 */
async function findKernel(disk: Disk, d: Dump & { status: 'complete' }, explicit: string | undefined): Promise<{ path: string; symbols: ElfSymbol[]; warning?: string; temporary?: boolean } | { tried: string[] }> {
  const tried: string[] = [];
  const check = async (path: string, data: Buffer | undefined, forced: boolean) => {
    let symbols: ElfSymbol[];
    try {
      // Only a regular file of a kernel's size: a FIFO or a directory given as --kernel was a hang or an internal error.
      symbols = elfSymbols(data ?? await readRegularFile(path, KERNEL_ELF_MAX, 'kernel ELF'));
    } catch (e) {
      if (!(e instanceof ElfError) && !(e instanceof FileInputError)) throw e;
      if (forced) throw new BankforgeError(`--kernel ${path}: ${e instanceof FileInputError && e.missing ? 'no such file' : e.message}`);
      return undefined;
    }
    const m = matchesDump(symbols, d.header.kernelEnd, d.header.panicAddr);
    if (m.ok) return { path, symbols };
    tried.push(`${path}: ${m.why}`);
    return forced ? { path, symbols, warning: `${path} does not match the dump: ${m.why}` } : undefined;
  };
  if (explicit) return (await check(explicit, undefined, true))!;
  const beside = await check(`${disk.target}.kernel.elf`, undefined, false);
  if (beside) return beside;
  const bank = d.body.bootInfo?.banks[d.header.bank];
  if (bank && bank.lastLba > bank.firstLba) {
    const ss = disk.partition.sectorSize;
    const data = await bankKernel(disk.target, bank.firstLba * ss, (bank.lastLba - bank.firstLba + 1) * ss, ss);
    if (data) {
      // llvm-symbolizer reads a file: the bank's copy goes in a private temporary directory (not
      // a predictable name in /tmp, where a planted link would be followed), removed after use.
      const path = join(await mkdtemp(join(tmpdir(), 'bankforge-kernel-')), 'kernel.elf');
      await writeFile(path, data);
      const found = await check(path, data, false);
      if (found) return { ...found, temporary: true };
      await rm(dirname(path), { recursive: true, force: true });
    }
  }
  return { tried };
}

async function bankKernel(target: string, offset: Bytes, size: Bytes, ss: SectorSize): Promise<Buffer | undefined> {
  const dev = await fileSectorDevice(target, offset, size, ss, false).catch(() => undefined);
  if (!dev) return undefined;
  try {
    const vol = await FatVolume.open(dev, { readOnly: true });
    try {
      return await vol.readFile('kernel.elf');
    } finally {
      await vol.close();
    }
  } catch {
    return undefined;
  } finally {
    await dev.close();
  }
}

/** The backtrace with functions; return addresses are looked up one byte back, inside their call instruction. */
export async function resolveBacktrace(disk: Disk, d: Dump & { status: 'complete' }, kernel: string | undefined): Promise<{ frames: ResolvedFrame[]; symbols?: Symbols; note?: string }> {
  const bt = d.body.backtrace;
  const bare = bt.map((a) => ({ address: hex64(a), frames: [] }));
  if (bt.length === 0) return { frames: bare };
  const k = await findKernel(disk, d, kernel);
  if ('tried' in k) {
    return { frames: bare, note: `no kernel ELF matching this dump${k.tried.length ? ` (tried ${k.tried.join('; ')})` : ''}; give one with --kernel` };
  }
  const exact = d.header.cause === Cause.Exception;
  const lookups = bt.map((a, i) => (i === 0 && exact ? a : a - 1n));
  const r = await symbolize(k.path, k.symbols, lookups).finally(() => (k.temporary ? rm(dirname(k.path), { recursive: true, force: true }) : undefined));
  return {
    frames: bt.map((a, i) => ({ address: hex64(a), frames: r.frames[i] ?? [] })),
    symbols: { elf: k.temporary ? `kernel.elf in bank ${bankName(d.header.bank)}` : k.path, tool: r.tool, ...(k.warning ? { warning: k.warning } : {}) },
  };
}

export const hex64 = (n: bigint) => n.toString(16).padStart(16, '0');

/**
 * The dump's clock as ISO 8601; undefined when the kernel could not read the RTC (0) or the
 * field holds more seconds than a date can (a damaged or crafted dump): the dump is still shown.
 */
export function rtcIso(rtcTime: number): string | undefined {
  const ms = rtcTime * 1000;
  return rtcTime && Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : undefined;
}

export function when(rtcTime: number): string {
  if (!rtcTime) return 'unknown (RTC unreadable)';
  const iso = rtcIso(rtcTime);
  return iso ? `${iso.replace('T', ' ').replace(/\.\d+Z$/, '')} UTC` : `invalid (clock field ${rtcTime})`;
}

export function bankName(bank: number): string {
  return bank === 0 ? 'A' : bank === 1 ? 'B' : `? (${bank})`;
}

/** SDM vol. 3, 4.7: the page-fault error code's bits. */
export function pageFaultText(d: Dump): string | undefined {
  const h = d.header;
  if (h.cause !== Cause.Exception || h.vector !== 14) return undefined;
  const e = h.errorCode;
  return `page fault at ${hex64(h.faultAddr)}: ${e & 1n ? 'protection violation' : 'page not present'}, ${e & 2n ? 'write' : e & 16n ? 'instruction fetch' : 'read'}, ${e & 4n ? 'user mode' : 'kernel mode'}`;
}

export function listLine(d: Dump): string {
  const h = d.header;
  const state = d.status === 'complete' ? 'complete' : 'incomplete';
  return `${String(h.seq).padStart(5)} ${String(d.slot).padStart(5)}  ${when(h.rtcTime).padEnd(24)} ${bankName(h.bank).padEnd(5)} ${h.build.padEnd(14)} ${state.padEnd(11)} ${h.reason}${d.cleared ? ' (cleared)' : ''}`;
}

/** The full text of one dump. */
export async function renderDump(disk: Disk, d: Dump, kernel: string | undefined, logLines: number): Promise<string> {
  const h = d.header;
  const out: string[] = [];
  const size = d.status === 'complete' ? `, ${COREDUMP.block + h.bodySize} bytes` : '';
  out.push(`dump seq ${h.seq} in slot ${d.slot}: ${d.status === 'complete' ? 'complete' : `INCOMPLETE: ${d.problem}`}${size}`);
  out.push(`  when    ${when(h.rtcTime)}, ${(h.uptimeMs / 1000).toFixed(1)} s after the loader started`);
  out.push(`  kernel  bank ${bankName(h.bank)} (${BOOTSTATE_TEXT[h.bootstate] ?? h.bootstate}), build ${h.build || '?'}`);
  out.push(`  reason  ${h.cause === Cause.Panic ? 'panic: ' : ''}${h.reason}`);
  const pf = pageFaultText(d);
  if (pf) out.push(`          ${pf}`);
  if (d.status !== 'complete') {
    out.push('  (the body is not shown: it was not completely written, and what is there cannot be trusted)');
    return out.join('\n');
  }
  const r = d.body.regs;
  const shown = d.body.allRegisters ? REGISTERS : (['rip', 'rsp', 'rbp', 'rflags', 'cs', 'ss', 'cr0', 'cr2', 'cr3', 'cr4'] as const);
  out.push(d.body.allRegisters ? 'registers:' : 'registers (a panic: where panic() was called from, and the control registers):');
  for (let i = 0; i < shown.length; i += 4) {
    out.push(`  ${shown.slice(i, i + 4).map((n) => `${n.padEnd(6)} ${hex64(r[n])}`).join('  ')}`);
  }
  const bt = await resolveBacktrace(disk, d, kernel);
  out.push(bt.symbols ? `backtrace (${bt.symbols.elf}, ${bt.symbols.tool}):` : 'backtrace:');
  if (bt.symbols?.warning) out.push(`  warning: ${bt.symbols.warning}`);
  if (bt.note) out.push(`  (${bt.note})`);
  bt.frames.forEach((f, i) => {
    const [first, ...inlined] = f.frames;
    const at = (fr: Frame) => `${fr.function}${fr.location ? ` at ${fr.location}` : ''}`;
    out.push(`  #${String(i).padEnd(2)} ${f.address}${first ? `  ${at(first)}` : ''}`);
    for (const fr of inlined) out.push(`      ${' '.repeat(16)}  inlined into ${at(fr)}`);
  });
  const lines = d.body.log.replace(/\n$/, '').split('\n');
  const lost = h.logWritten > d.body.log.length ? `, the first ${h.logWritten - d.body.log.length} bytes were overwritten` : '';
  out.push(`log (last ${Math.min(logLines, lines.length)} of ${lines.length} lines${lost}):`);
  for (const l of lines.slice(-logLines)) out.push(`  | ${l}`);
  return out.join('\n');
}

/** JSON-safe form of one dump (64-bit values as hex strings). */
export async function dumpJson(disk: Disk, d: Dump, kernel: string | undefined): Promise<Record<string, unknown>> {
  const h = d.header;
  const header = {
    seq: h.seq, slot: h.slot, state: h.state === 1 ? 'writing' : 'complete', time: rtcIso(h.rtcTime) ?? null,
    rtcTime: h.rtcTime, uptimeMs: h.uptimeMs, tsc: h.tsc.toString(), tscHz: h.tscHz, bank: bankName(h.bank),
    bootstate: BOOTSTATE_TEXT[h.bootstate] ?? h.bootstate, build: h.build, cause: h.cause === Cause.Panic ? 'panic' : 'exception',
    vector: h.vector, errorCode: `0x${h.errorCode.toString(16)}`, faultAddress: hex64(h.faultAddr), reason: h.reason,
    kernelStart: hex64(h.kernelStart), kernelEnd: hex64(h.kernelEnd), panicAddress: hex64(h.panicAddr),
    logWritten: h.logWritten, bodySize: h.bodySize, bodyCrc: `0x${h.bodyCrc.toString(16).padStart(8, '0')}`,
  };
  const base = { seq: h.seq, slot: d.slot, status: d.status, cleared: d.cleared, header };
  if (d.status !== 'complete') return { ...base, problem: d.problem };
  const bt = await resolveBacktrace(disk, d, kernel);
  return {
    ...base,
    registers: Object.fromEntries(REGISTERS.map((n) => [n, hex64(d.body.regs[n])])),
    allRegisters: d.body.allRegisters,
    backtrace: bt.frames,
    ...(bt.symbols ? { symbols: bt.symbols } : {}),
    ...(bt.note ? { symbolsNote: bt.note } : {}),
    bootInfo: d.body.bootInfo ?? null,
    log: d.body.log,
  };
}

/**
 * Where `--extract DIR` puts the dumps: DIR must be a directory or nothing (then it is created;
 * its parent must exist, so a path like /proc/1/x fails at once instead of being retried), and no
 * DIR/seq-N of these dumps may exist yet. Checked for all of them before the first is written.
 */
export async function prepareExtract(dir: string, dumps: readonly Dump[]): Promise<void> {
  const st = await stat(dir).catch(() => undefined);
  if (st && !st.isDirectory()) throw new BankforgeError(`--extract ${dir}: not a directory; nothing was written`);
  for (const d of dumps) {
    const out = join(dir, `seq-${d.header.seq}`);
    if (await lstat(out).then(() => true, () => false)) throw new BankforgeError(`--extract ${dir}: ${out} exists (extracted before?); remove it or extract elsewhere, so nothing was written`);
  }
  if (!st && dumps.length > 0) await mkdir(dir).catch((e: unknown) => { throw outputError(dir, e); });
}

/**
 * DIR/seq-N/: header.json, and for a complete dump registers.txt, backtrace.txt, log.txt,
 * body.bin; written into a temporary directory renamed into place, so it is whole or absent.
 */
export async function extractDump(disk: Disk, d: Dump, dir: string, kernel: string | undefined): Promise<string> {
  const out = await createOutputDirectory(join(dir, `seq-${d.header.seq}`));
  try {
    const json = await dumpJson(disk, d, kernel);
    const { log: _log, ...headerJson } = json;
    await writeFile(join(out.tmp, 'header.json'), `${JSON.stringify(headerJson, null, 2)}\n`);
    if (d.status === 'complete') {
      const r = d.body.regs;
      await writeFile(join(out.tmp, 'registers.txt'), REGISTERS.map((n) => `${n} ${hex64(r[n])}\n`).join(''));
      const bt = json.backtrace as ResolvedFrame[];
      await writeFile(join(out.tmp, 'backtrace.txt'), bt.map((f) => `${f.address}${f.frames.map((fr) => ` ${fr.function}${fr.location ? ` ${fr.location}` : ''}`).join(' <')}\n`).join(''));
      await writeFile(join(out.tmp, 'log.txt'), d.body.log);
      await writeFile(join(out.tmp, 'body.bin'), d.raw);
    }
    await out.commit();
  } catch (e) {
    await out.discard();
    throw outputError(out.path, e);
  }
  return out.path;
}
