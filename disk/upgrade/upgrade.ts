// `bankforge upgrade`: install a verified bundle into the inactive bank, as docs/upgrade.md
// specifies. Everything that can refuse (bundle, target, fit, version, the new volume itself,
// opened with our FAT reader and checked as the loader checks a bank) runs before the first
// write. Then, each step flushed before the next:
//   1. the inactive bank's state: invalid, reason "upgrade started" (both copies);
//   2. its FAT volume, fresh, up to the state area and never into it;
//   3. read back and compared byte for byte with the volume checked before the first write;
//   4. its state, last: new, updated = the active bank's + 1, tries (both copies).
// The active bank is never written. A cut before step 4 completes leaves the old choice.

import type { KeyObject } from 'node:crypto';
import { BankforgeError } from '../../support/errors.js';
import { readBundle, type Bundle } from '../../builder/bundle/read.js';
import { FatError, parseBootSector } from '../../partitions/fat/index.js';
import { deriveU32 } from '../../partitions/seeded-ids.js';
import { BootState, failState, nextState, pushEvent, Reason, StateEvent, STATE, text, type BankState } from '../../partitions/bankstate.js';
import type { Progress } from '../../support/progress.js';
import type { ByteSource } from '../../partitions/sink.js';
import type { Bytes } from '../../partitions/units.js';
import type { BankRef } from '../bank-state.js';
import { checkBankVolume } from './bank-volume.js';
import { composeVolume } from './compose.js';
import { writeStateMirrored } from '../state-write.js';
import { bankLetter, nextBoot, openTarget, type Target, type TargetOptions } from '../target.js';

/** Bytes per write while copying the volume: large enough to be fast, small enough for progress. */
const CHUNK = 1 << 20;

export interface UpgradeOptions extends TargetOptions {
  target: string;
  bundle: string;
  pubkey?: KeyObject;
  /** Install a signed bundle without a key to check its signature. */
  allowUnverified?: boolean;
  /** Trial boots the new version gets (tries_max), 1..15. */
  tries: number;
  /** Install even when the version is already the active one, or the active bank is still on trial. */
  force: boolean;
  progress?: Progress;
}

export interface UpgradeResult { bank: 'A' | 'B'; version: string; previous: string; updated: number; signature: Bundle['signature'] }

export async function upgrade(opts: UpgradeOptions): Promise<UpgradeResult> {
  if (!Number.isInteger(opts.tries) || opts.tries < 1 || opts.tries > 15) throw new BankforgeError(`--tries: expected 1 to 15, got ${opts.tries}`);
  // The bundle is read and checked while the target is opened and locked (the lock helper is a
  // process of its own): neither depends on the other, and a bad bundle is still reported first.
  // The target comes first: its lock helper starts before the bundle is read (all of it on this
  // thread) and would otherwise wait for it.
  const locking = openTarget(opts.target, opts);
  locking.catch(() => undefined); // settled below, after the turn; not unhandled meanwhile
  // One turn of the event loop first: openTarget awaits a module before it spawns the helper,
  // and readBundle's checks, synchronous from its start, would otherwise run before that.
  await new Promise(setImmediate);
  const [bundle, target] = await Promise.allSettled([
    readBundle(opts.bundle, { pubkey: opts.pubkey, allowUnverified: opts.allowUnverified }),
    locking,
  ]);
  if (bundle.status === 'rejected' || target.status === 'rejected') {
    if (target.status === 'fulfilled') await target.value.dev.close();
    throw bundle.status === 'rejected' ? bundle.reason : (target as PromiseRejectedResult).reason;
  }
  const t = target.value;
  try {
    return await install(t, bundle.value, opts);
  } finally {
    await t.dev.close();
  }
}

async function install(t: Target, bundle: Bundle, opts: UpgradeOptions): Promise<UpgradeResult> {
  const { active, inactive } = roles(t, opts.target, opts.force);
  const m = bundle.manifest;
  const activeVersion = text(active.view.state.version);
  if (activeVersion === m.version && !opts.force) {
    throw new BankforgeError(`${opts.target}: version ${m.version} is already in bank ${bankLetter(active.bank)}, the bank that boots; --force installs it into bank ${bankLetter(inactive.bank)} anyway`);
  }
  const fit = m.fits.find((f) => f.partitionSize === inactive.size && f.sectorSize === t.sectorSize);
  if (!fit) {
    const fits = m.fits.map((f) => `${f.partitionSize} bytes with ${f.sectorSize}-byte sectors`).join(', ');
    throw new BankforgeError(`${opts.bundle}: made for bank partitions of ${fits}; bank ${bankLetter(inactive.bank)} of ${opts.target} is ${inactive.size} bytes with ${t.sectorSize}-byte sectors`);
  }
  const volume = await composeVolume({
    type: fit.filesystem,
    size: inactive.size - STATE.areaSize,
    sectorSize: t.sectorSize,
    label: await currentLabel(t, inactive),
    serial: deriveU32(m.payload.sha256, `fat-serial:bank-${bankLetter(inactive.bank)}`),
    timestamp: m.build.sourceDateEpoch,
    hiddenSectors: inactive.partition.firstLba,
  }, bundle.files, `bank ${bankLetter(inactive.bank)} of ${opts.target}`);
  const where = `bank ${bankLetter(inactive.bank)} (partition ${inactive.partition.index + 1}) of ${opts.target}`;
  const progress = opts.progress;

  // The new volume is checked before anything is written; once written, reading it back equal to
  // these bytes proves the bank holds what was checked.
  const content = await checkBankVolume(composedSource(volume, inactive.size), 0, inactive.size, t.sectorSize, where).catch((e: Error) => {
    throw e instanceof BankforgeError && !(e instanceof FatError) ? e : new BankforgeError(`${where}: the volume made for the bundle does not open: ${e.message}`);
  });
  if (content.version !== m.version) throw new BankforgeError(`${where}: boot.cfg in the volume made for the bundle says build=${content.version}, expected ${m.version}`);

  progress?.step(`${where}: marking invalid (upgrade started)`);
  const started = failState(inactive.view, Reason.UpgradeStarted, `installing ${m.version}`);
  let ref = await writeStateMirrored(t.dev, t.sectorSize, inactive, started);

  for (let at = 0; at < volume.length; at += CHUNK) {
    progress?.step(`${where}: writing ${Math.min(at + CHUNK, volume.length)} of ${volume.length} bytes`);
    await t.dev.write(inactive.offset + at, volume.subarray(at, at + CHUNK));
  }
  await t.dev.flush();

  progress?.step(`${where}: verifying`);
  const back = await t.dev.read(inactive.offset, volume.length);
  if (!back.equals(volume)) {
    const first = back.findIndex((b, i) => b !== volume[i]);
    throw new BankforgeError(`${where}: read-back differs from what was written at partition byte ${first}; the bank stays invalid (upgrade started) and bank ${bankLetter(active.bank)} keeps booting`);
  }

  progress?.step(`${where}: writing its state (new, ${opts.tries} tries)`);
  const installed = installedState(ref, m.version, active.view.state.updated + 1, opts.tries);
  ref = await writeStateMirrored(t.dev, t.sectorSize, ref, installed);
  progress?.done(`installed ${m.version} in ${where}: it boots next, on trial (${opts.tries} tries); bank ${bankLetter(active.bank)} (${activeVersion}) stays as the fallback`);
  return { bank: bankLetter(inactive.bank), version: m.version, previous: activeVersion, updated: installed.updated, signature: bundle.signature };
}

/**
 * The composed volume as the bank partition it will be written to: a read past its end (where the
 * old volume's free clusters stay) means the reader followed something the writer did not write.
 */
function composedSource(volume: Buffer, partitionSize: Bytes): ByteSource {
  return {
    size: partitionSize,
    async read(offset, length) {
      if (offset + length > volume.length) throw new FatError(`read of ${length} bytes at byte ${offset}, past the ${volume.length} bytes written`);
      return volume.subarray(offset, offset + length);
    },
  };
}

/** The state that makes the new bank boot next, on trial. */
function installedState(ref: BankRef, version: string, updated: number, tries: number): BankState {
  const s = nextState(ref.view);
  s.bootstate = BootState.New;
  s.triesMax = tries;
  s.triesLeft = tries;
  s.updated = updated >>> 0;
  s.reason = Reason.None;
  s.flags = 0;
  s.version = Buffer.alloc(STATE.versionLen);
  s.version.write(version, 'utf8');
  s.detail = Buffer.alloc(STATE.detailLen);
  pushEvent(s, StateEvent.Installed);
  return s;
}

/**
 * Active = the bank the loader boots next (select()); inactive = the other one. Refused when no
 * bank boots (nothing to fall back on) and, without --force, when the active bank is itself
 * still on trial: overwriting the other bank would leave no bank known to be good.
 */
function roles(t: Target, path: string, force: boolean): { active: BankRef; inactive: BankRef } {
  const sel = nextBoot(t.banks);
  if (sel.bank === -1) throw new BankforgeError(`${path}: no bank is bootable, so there is no running version to fall back on; rebuild or reflash the disk instead`);
  const active = t.banks[sel.bank]!;
  const inactive = t.banks[sel.bank ^ 1]!;
  const state = active.view.state.bootstate;
  if ((state === BootState.New || state === BootState.Trying) && !force) {
    throw new BankforgeError(`${path}: bank ${bankLetter(active.bank)} (${text(active.view.state.version)}) boots next but is still on trial (${state === BootState.New ? 'new' : 'trying'}); boot it until it is marked good (or run mark-good / rollback) before installing into bank ${bankLetter(inactive.bank)}, the last known-good bank; --force overrides`);
  }
  return { active, inactive };
}

/** Keep the label the layout gave the bank's volume; a bank whose boot sector is gone gets BOOTBANKn. */
async function currentLabel(t: Target, ref: BankRef): Promise<string> {
  try {
    const label = parseBootSector(await t.dev.read(ref.offset, t.sectorSize)).label.trim();
    return label === 'NO NAME' ? '' : label;
  } catch {
    return `BOOTBANK${ref.bank + 1}`;
  }
}
