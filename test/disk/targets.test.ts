// Targets as a hostile user gives them (issue 15 items 7, 9, 10): every command that reads an
// image or a device in place refuses what is not one (directory, FIFO, character device,
// compressed image, a file too small for a GPT) with exit 3 and a message saying what it is,
// promptly and without writing; what an image says is printed with its control codes shown, not
// sent; inspect warns about two partitions claiming one bank; a crash dump's absurd clock is
// shown as invalid instead of failing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { readGpt } from '../../partitions/gpt.js';
import { GPT_TYPE_ALIASES } from '../../partitions/gpt-types.js';
import { Cause, COREDUMP, defaultGeometry, DumpState, encodeDump } from '../../partitions/coredump.js';
import { Bank, StateEvent } from '../../partitions/bankstate.js';
import { sha256 } from '../../partitions/bank-files.js';
import { cli } from '../helpers/cli.js';
import { buildQuiet, changeBank } from '../helpers/images.js';
import { bufferSource } from '../helpers/file-source.js';
import { repoRoot, scratch } from '../helpers/tools.js';

const { dir, cleanup } = await scratch('bankforge-targets-');
const image = join(dir, 'small.img');
await buildQuiet({ layout: 'small', out: image, version: '1.0.0' });
const bundle = join(dir, 'b.bfb');
const made = await cli(['bundle', '--version', '2.0.0', '--layout', 'small', '-o', bundle, '-q']);
assert.is(made.exitCode, 0, made.stderr);

const COMMANDS = (t: string): string[][] => [
  ['inspect', t], ['status', t], ['coredump', t], ['config', t, 'get'], ['mark-good', t], ['rollback', t], ['upgrade', t, bundle],
];

async function refusedEverywhere(target: string, message: RegExp): Promise<void> {
  for (const args of COMMANDS(target)) {
    const t0 = Date.now();
    const r = await cli(args);
    assert.is(r.exitCode, 3, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    // A FIFO waited on would block for ever: the bound is for that, not for speed (a CLI start on
    // two cores shared with QEMU lanes took seconds at the load measured while the suite ran).
    assert.ok(Date.now() - t0 < 60_000, `${args[0]} answered promptly`);
  }
}

test('a directory given as the target: exit 3 from every command, saying it is a directory', async () => {
  await mkdir(join(dir, 'adir'));
  await refusedEverywhere(join(dir, 'adir'), /adir is a directory, not a disk image or a block device/);
});

test('a FIFO given as the target is refused at once, not waited on', async () => {
  execFileSync('mkfifo', [join(dir, 'afifo')]);
  await refusedEverywhere(join(dir, 'afifo'), /afifo is a FIFO \(named pipe\), not a disk image or a block device/);
});

test('a character device given as the target is refused', async () => {
  await refusedEverywhere('/dev/null', /\/dev\/null is a character device/);
});

test('a compressed image: "decompress it first", and the file is not touched', async () => {
  const gz = join(dir, 'small.img.gz');
  await writeFile(gz, gzipSync(await readFile(image), { level: 1 }));
  const before = sha256(await readFile(gz));
  await refusedEverywhere(gz, /small\.img\.gz is a compressed image \(gzip\): decompress it first/);
  assert.is(sha256(await readFile(gz)), before);
});

test('an empty file and a file smaller than a GPT are bad input naming the file', async () => {
  await writeFile(join(dir, 'empty.img'), '');
  await refusedEverywhere(join(dir, 'empty.img'), /empty\.img is empty, not a disk image/);
});

test('a bundle given as the directory-or-FIFO second argument of upgrade is refused the same way', async () => {
  const r = await cli(['upgrade', image, join(dir, 'adir')]);
  assert.is(r.exitCode, 3, r.stderr);
  assert.match(r.stderr, /adir is a directory; a bundle is a file/);
});

test('inspect warns (exit 4) when two partitions both claim to be bank A; status refuses', async () => {
  const img = join(dir, 'two-a.img');
  await copyFile(image, img);
  await changeBank(img, Bank.B, (s) => { s.bank = Bank.A; }, StateEvent.Installed);
  const r = await cli(['inspect', img]);
  assert.is(r.exitCode, 4, r.stderr);
  assert.match(r.stderr, /warning: partitions 2 \(bootbank\) and 3 \(altbootbank\) all claim to be bank A/);
  assert.is((await cli(['status', img])).exitCode, 3);
});

test('a crash dump whose clock field is past any date is shown, its time marked invalid (was "Invalid time value", exit 1)', async () => {
  const img = join(dir, 'dump.img');
  await copyFile(image, img);
  const fh = await open(img, 'r+');
  try {
    const whole = await readFile(img);
    const gpt = await readGpt(bufferSource(whole));
    const p = gpt.partitions.find((x) => x.typeGuid === GPT_TYPE_ALIASES.vmkdiagnostic)!;
    const offset = p.firstLba * gpt.sectorSize;
    const g = defaultGeometry((p.lastLba - p.firstLba + 1) * gpt.sectorSize);
    const d = encodeDump(g, {
      header: {
        seq: 1, rtcTime: 2 ** 53, uptimeMs: 1, tsc: 1n, tscHz: 1, bank: 0, bootstate: 0, build: '1.0.0', kernelStart: 0x1000000n, kernelEnd: 0x1050000n,
        panicAddr: 0n, cause: Cause.Panic, vector: 0, errorCode: 0n, faultAddr: 0n, reason: 'test', logWritten: 4,
      },
      regs: {}, allRegisters: false, backtrace: [0x1001234n], log: Buffer.from('log\n'), bootInfo: Buffer.alloc(0),
    }, DumpState.Complete);
    await fh.write(d.header, 0, d.header.length, offset + d.offset);
    await fh.write(d.body, 0, d.body.length, offset + d.offset + COREDUMP.block);
  } finally {
    await fh.close();
  }
  const r = await cli(['coredump', img]);
  assert.is(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /invalid \(clock field 9007199254740992\)/);
  const j = await cli(['coredump', img, '--json']);
  assert.is(j.exitCode, 0, j.stderr);
  assert.is((JSON.parse(j.stdout) as { dumps: { header: { time: unknown } }[] }).dumps[0]!.header.time, null);
  // --kernel that is a FIFO (or a directory): refused at once, not waited on
  execFileSync('mkfifo', [join(dir, 'kernel.fifo')]);
  await mkdir(join(dir, 'kernel.dir'));
  for (const k of ['kernel.fifo', 'kernel.dir']) {
    const kr = await cli(['coredump', img, '--kernel', join(dir, k)]);
    assert.is(kr.exitCode, 3, kr.stderr);
    assert.match(kr.stderr, /--kernel .*: cannot read kernel ELF .*: not a regular file/);
  }
});

test('names read from an image are printed with their escape codes shown, not sent to the terminal', async () => {
  const layout = JSON.parse(await readFile(join(repoRoot, 'layouts', 'small.json'), 'utf8')) as { partitions: { gptName?: string; name: string }[] };
  layout.partitions[0]!.gptName = 'boot\u001b]0;pwned\u0007\u009b2J';
  const file = join(dir, 'evil.json');
  await writeFile(file, JSON.stringify(layout));
  const img = join(dir, 'evil.img');
  const b = await cli(['build', '--layout', file, '--out', img, '-q']);
  assert.is(b.exitCode, 0, b.stderr);
  const r = await cli(['inspect', img]);
  assert.is(r.exitCode, 0, r.stderr);
  assert.not.match(r.stdout, /[\u001b\u0007\u009b]/, 'no control character reaches the terminal');
  assert.match(r.stdout, /boot\\x1b\]0;pwned\\x07\\x9b2J/);
});

test.after(cleanup);
test.run();
