// The mark-good tool for Linux (linuxtool/, bankforge-state) on the host: built from the same
// sources with gcc, ASan and UBSan, run against image files. Its parsing of the loader's words
// (command line, EFI variable), its search for the boot disk through a sysfs-shaped directory,
// its refusals, and its writes: byte for byte what bankforge's own mark-good and rollback
// write, and safe at every cut point (the power-cut simulation of docs/upgrade.md).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build, DEFAULT_EPOCH } from '../../builder/build.js';
import { createBundle } from '../../builder/bundle/create.js';
import { upgrade } from '../../disk/upgrade/upgrade.js';
import { readBanks } from '../../disk/bank-state.js';
import { markGood } from '../../disk/mark-good.js';
import { rollback } from '../../disk/rollback.js';
import { status } from '../../disk/status.js';
import { Bank, BootState, StateEvent, STATE } from '../../partitions/bankstate.js';
import { compileHost, HostProgram, COMMON_HOST_SOURCES } from '../helpers/c-host.js';
import { changeBank, quiet } from '../helpers/images.js';
import { scratch } from '../helpers/tools.js';
import { checkCutPoints, type BankGeometry } from '../disk/upgrade/cutpoints.js';
import type { RecordedOp } from '../../disk/recording.js';
import { STATE_TOOL_FLAGS } from '../../builder/pipeline/state-tool.js';

const { dir, cleanup } = await scratch('bankforge-state-tool-');
const SOURCES = ['linuxtool/main.c', 'linuxtool/statetool.c', 'common/bankstate.c', 'common/bootident.c', 'common/gpt.c', 'common/crc32.c', 'common/fmt.c'];
const tool = await compileHost('bankforge-state', SOURCES, { flags: STATE_TOOL_FLAGS.filter((f) => !f.startsWith('-O') && !f.startsWith('-I') && !f.startsWith('-std')) });
const selector = new HostProgram(await compileHost('common-host', COMMON_HOST_SOURCES));

const base = join(dir, 'base.img');
const { manifest } = await build({ layout: 'small', out: base, version: '1.0.0', bootTimeout: 0, progress: quiet });
const other = join(dir, 'other.img');
const otherManifest = (await build({ layout: 'small', out: other, version: '1.0.0', bootTimeout: 0, seed: 'another disk', progress: quiet })).manifest;
const guidOf = (name: string) => manifest.partitions.find((p) => p.name === name)!.guid;
const words = (bank: 'A' | 'B', part = guidOf(bank === 'A' ? 'bootbank' : 'altbootbank'), disk = manifest.diskGuid) => `bankforge.bank=${bank} bankforge.disk=${disk} bankforge.part=${part}`;
const disk = await readBanks(base);
const geo = disk.banks.map((b) => ({ offset: b!.offset, size: b!.size })) as [BankGeometry, BankGeometry];

let n = 0;
async function copy(from = base): Promise<string> {
  const out = join(dir, `work-${n++}.img`);
  await execa('cp', ['--sparse=always', from, out]);
  return out;
}
async function cmdline(text: string): Promise<string> {
  const f = join(dir, `cmdline-${n++}`);
  await writeFile(f, text);
  return f;
}
/** Commands (the last word) already run under LeakSanitizer. */
const leakChecked = new Set<string>();
/**
 * Runs the tool; its exit code and output (never a signal: ASan would say so). LeakSanitizer's
 * scan at exit (~60 ms of CPU a run here) is on for each command's first run, where a leak makes
 * the run fail; the rest go without it.
 */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const command = args.at(-1)!;
  const env = leakChecked.has(command) ? { ASAN_OPTIONS: 'detect_leaks=0' } : {};
  leakChecked.add(command);
  const r = await execa(tool, args, { reject: false, env });
  assert.not.match(r.stderr, /LeakSanitizer/, r.stderr);
  assert.is(r.signal, undefined, r.stderr);
  return { code: r.exitCode!, out: r.stdout, err: r.stderr };
}
const onImage = async (img: string, text: string, cmd: string, extra: string[] = []) => run(['--cmdline', await cmdline(text), '--disk', img, ...extra, cmd]);

test('the loader\'s words are found among others, in any order, on any whitespace; each one must be there, once or twice alike', async () => {
  const img = await copy();
  const ok = [
    `console=ttyS0 ${words('A')} quiet\n`,
    `${words('A').split(' ').reverse().join('\t')}`,
    `${words('A')} ${words('A')}`,
    `${words('A').toLowerCase().replace('bankforge.bank=a', 'bankforge.bank=A')}`,
  ];
  for (const t of ok) {
    const r = await onImage(img, t, 'status');
    assert.is(r.code, 0, `${t}: ${r.err}`);
    assert.match(r.out, /^booted: bank A$/m);
  }
  const bad: [string, RegExp][] = [
    ['console=ttyS0', /no bankforge\.bank on the command line: not booted by the bankforge loader/],
    [words('A').replace(/ bankforge\.part=\S+/, ''), /no bankforge\.part/],
    [words('A').replace('bank=A', 'bank=C'), /bankforge\.bank=C: expected A or B/],
    [words('A').replace('bank=A', 'bank=AB'), /bankforge\.bank=AB: expected A or B/],
    [words('A').replace(/disk=(\S{35})\S/, 'disk=$1'), /bankforge\.disk=\S+: not a GUID/],
    [words('A').replace(/part=\S{8}/, 'part=XXXXXXXX'), /bankforge\.part=\S+: not a GUID/],
    [`${words('A')} bankforge.bank=B`, /bankforge\.bank given twice with different values/],
    [`${words('A')} ${words('A', guidOf('store'))}`, /bankforge\.part given twice with different values/],
  ];
  for (const [t, want] of bad) {
    const r = await onImage(img, t, 'mark-good');
    assert.is(r.code, 3, t);
    assert.match(r.err, want, t);
  }
  assert.is((await readFile(img)).equals(await readFile(base)), true, 'refusals write nothing');
});

test('without the words on the command line, the EFI variable BankforgeBoot is read (efivarfs: 4 attribute bytes, then the value)', async () => {
  const sys = join(dir, 'sys-efivar');
  await mkdir(join(sys, 'firmware/efi/efivars'), { recursive: true });
  await writeFile(join(sys, 'firmware/efi/efivars/BankforgeBoot-b6e1c4a2-7d3f-4e51-9a08-2c4b5d6e7f80'), Buffer.concat([Buffer.from([6, 0, 0, 0]), Buffer.from(words('B'))]));
  const r = await run(['--sys', sys, '--disk', await copy(), 'status']);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^booted: bank B$/m);
  const none = await run(['--sys', join(dir, 'no-such-sys'), '--disk', base, 'status']);
  assert.is(none.code, 3);
  assert.match(none.err, /\/proc\/cmdline: no bankforge\.bank .* \(and no readable EFI variable .*BankforgeBoot-b6e1c4a2-7d3f-4e51-9a08-2c4b5d6e7f80\)/);
});

/** A sysfs-shaped tree: whole disks (with partitions listed as such) and their /dev nodes (image files). */
async function fakeSys(name: string, disks: Record<string, string | undefined>): Promise<{ sys: string; dev: string }> {
  const sys = join(dir, name, 'sys'), dev = join(dir, name, 'dev');
  await mkdir(dev, { recursive: true });
  for (const [d, img] of Object.entries(disks)) {
    await mkdir(join(sys, 'class/block', d, 'queue'), { recursive: true });
    await writeFile(join(sys, 'class/block', d, 'queue/logical_block_size'), '512\n');
    await mkdir(join(sys, 'class/block', `${d}1`), { recursive: true });
    await writeFile(join(sys, 'class/block', `${d}1`, 'partition'), '1\n');
    if (img) await symlink(img, join(dev, d));
  }
  return { sys, dev };
}

test('the boot disk is the one whole disk whose GPT has the GUID: found among others, refused when two have it or none', async () => {
  const img = await copy();
  const one = await fakeSys('one', { sda: other, vda: img, sr0: undefined, vdb: join(dir, 'no-such-file') });
  const found = await run(['--cmdline', await cmdline(words('A')), '--sys', one.sys, '--dev', one.dev, 'status']);
  assert.is(found.code, 0, found.err);
  assert.match(found.out, new RegExp(`^disk: ${one.dev}/vda$`, 'm'));
  const twin = await copy();
  const two = await fakeSys('two', { vda: img, vdb: twin });
  const both = await run(['--cmdline', await cmdline(words('A')), '--sys', two.sys, '--dev', two.dev, 'mark-good']);
  assert.is(both.code, 3);
  assert.match(both.err, new RegExp(`2 disks have the GUID ${manifest.diskGuid}.*refusing to guess`));
  const none = await fakeSys('none', { sda: other });
  const missing = await run(['--cmdline', await cmdline(words('A')), '--sys', none.sys, '--dev', none.dev, 'status']);
  assert.is(missing.code, 3);
  assert.match(missing.err, new RegExp(`no disk in .* has the GUID ${manifest.diskGuid}`));
  assert.not.equal(otherManifest.diskGuid, manifest.diskGuid);
});

test('a disk, partition or bank that does not match the words is refused, and nothing is written', async () => {
  const img = await copy();
  await changeBank(img, Bank.A, (s) => { s.bootstate = BootState.Trying; s.triesLeft = 2; });
  const before = await readFile(img);
  const cases: [string, RegExp][] = [
    [words('A', guidOf('bootbank'), otherManifest.diskGuid), /the disk's GUID is not/],
    [words('A', guidOf('store')), /partition 4 \(bankforge\.part=\) holds no valid state record/],
    [words('A', '01234567-89AB-CDEF-0123-456789ABCDEF'), /no partition has the GUID 01234567-89AB-CDEF-0123-456789ABCDEF/],
    [words('B', guidOf('bootbank')), /partition 2 holds bank A, the command line says bank B/],
  ];
  for (const [t, want] of cases) {
    const r = await onImage(img, t, 'mark-good');
    assert.is(r.code, 3, t);
    assert.match(r.err, want);
  }
  // An invalid booted bank is not made valid again.
  await changeBank(img, Bank.B, (s) => { s.bootstate = BootState.Invalid; s.reason = 1; }, StateEvent.Invalid);
  const invalid = await readFile(img);
  const r = await onImage(img, words('B'), 'mark-good');
  assert.is(r.code, 3);
  assert.match(r.err, /bank B is invalid \(tries exhausted\); it is not marked good/);
  const back = await onImage(img, words('A'), 'rollback');
  assert.is(back.code, 3);
  assert.match(back.err, /bank B is invalid \(reason tries exhausted\); only a valid bank can be rolled back to/);
  assert.is((await readFile(img)).equals(invalid), true);
  assert.is(before.length, invalid.length);
});

/** The two state areas of an image. */
async function areas(img: string): Promise<Buffer[]> {
  const all = await readFile(img);
  return geo.map((g) => all.subarray(g.offset + g.size - STATE.areaSize, g.offset + g.size));
}

test('mark-good and rollback write exactly what bankforge\'s own mark-good and rollback write; status afterwards says so', async () => {
  const trial = await copy();
  await changeBank(trial, Bank.B, (s) => { s.bootstate = BootState.Trying; s.triesLeft = 1; s.updated = 2; s.version = Buffer.from('2.0.0'.padEnd(32, '\0')); });
  const [c, ts] = [await copy(trial), await copy(trial)];
  const r = await onImage(c, words('B'), 'mark-good');
  assert.is(r.code, 0, r.err);
  assert.is(r.out, 'bank B: marked good');
  await markGood(ts);
  assert.equal(await areas(c), await areas(ts));
  const s = (await status(c)).banks[1]!;
  assert.is(s.bootstate, 'valid');
  assert.equal(s.copies, [s.seq, s.seq - 1].sort((a, b) => (s.slot === 0 ? b - a : a - b)) as [number, number]);
  const again = await onImage(c, words('B'), 'mark-good');
  assert.is(again.out, 'bank B: valid already, nothing written');
  assert.equal(await areas(c), await areas(ts));

  const st = await onImage(c, words('B'), 'status');
  assert.match(st.out, /^bank B: partition 3, valid, tries 3\/3, updated 2, version 2\.0\.0, reason none$/m);
  assert.match(st.out, /^  seq \d+: good -> valid, tries 3$/m);

  // Rolling back from B (booted) to A, against `bankforge rollback` on the same disk.
  const [rc, rts] = [await copy(c), await copy(c)];
  const rb = await onImage(rc, words('B'), 'rollback');
  assert.is(rb.code, 0, rb.err);
  assert.is(rb.out, 'bank A boots from the next boot on (rolled back from bank B)');
  await rollback(rts);
  assert.equal(await areas(rc), await areas(rts));
  const after = await status(rc);
  assert.is(after.next, 'A');
  assert.is(after.banks[0]!.reason, 'rolled back');
  assert.is(after.banks[0]!.detail, 'rolled back from bank B (2.0.0)');
});

/** The tool's writes on a copy of `from`, from its --log-writes lines. */
async function logged(from: string, label: string, text: string, cmd: string): Promise<{ label: string; allowed: string[]; ops: RecordedOp[] }> {
  const img = await copy(from);
  const r = await onImage(img, text, cmd, ['--log-writes']);
  assert.is(r.code, 0, r.err);
  const ops: RecordedOp[] = [];
  for (const line of r.out.split('\n')) {
    const m = /^write (\d+) ([0-9a-f]+)$/.exec(line);
    if (m) ops.push({ kind: 'write', offset: Number(m[1]), data: Buffer.from(m[2]!, 'hex'), by: label }, { kind: 'flush', by: label });
  }
  assert.is(ops.length, 4, `${label}: two mirrored writes, each flushed`);
  return { label, allowed: [], ops };
}

test('every cut point of the tool\'s mark-good (last try) and rollback boots a bank that verifies', async () => {
  // Bank B holds version 2.0.0 (a real upgrade), on its last try: a cut before the mark-good
  // lands leaves the trial exhausted, and the loader must then take bank A (1.0.0); after it, B.
  const bundle = join(dir, '2.0.0.bfb');
  await createBundle({ version: '2.0.0', layout: 'small', out: bundle, kernelopt: '', bootTimeout: 0, epoch: DEFAULT_EPOCH });
  const trial = await copy();
  await upgrade({ target: trial, bundle, tries: 1, force: false });
  await changeBank(trial, Bank.B, (s) => { s.bootstate = BootState.Trying; s.triesLeft = 0; }, StateEvent.Try);
  const choose = async (recs: Buffer[]) => (await selector.ask<{ bank: number }>(`select ${recs.map((r) => r.toString('hex')).join(' ')} 0`)).bank;
  const good = await logged(trial, 'tool mark-good', words('B'), 'mark-good');
  good.allowed = ['1.0.0', '2.0.0'];
  const r1 = await checkCutPoints(trial, disk.sectorSize, geo, [good], choose, { corrupt: true });
  assert.equal(r1.failures.slice(0, 10), []);
  assert.is(r1.points, 2 * 2 + 1);
  assert.equal(r1.restChanges, [], 'after both copies are written, a damaged copy changes nothing');

  // Then, B marked good and booted, a rollback to A: every cut boots A or B, each with its own files.
  const valid = await copy(trial);
  await changeBank(valid, Bank.B, (s) => { s.bootstate = BootState.Valid; s.triesLeft = s.triesMax; }, StateEvent.Good);
  const back = await logged(valid, 'tool rollback', words('B'), 'rollback');
  back.allowed = ['1.0.0', '2.0.0'];
  const r2 = await checkCutPoints(valid, disk.sectorSize, geo, [back], choose, { corrupt: true });
  assert.equal(r2.failures.slice(0, 10), []);
  assert.equal(r2.restChanges, []);
  console.log(`  bankforge-state power-cut simulation: ${r1.points + r2.points} cut points (${r1.torn + r2.torn} torn), ${r1.corrupted + r2.corrupted} with one state copy damaged, 0 failures`);
});

test.after(async () => { await selector.close(); await cleanup(); });
test.run();
