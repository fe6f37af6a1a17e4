// The CLI contract (issue 14, point 3), through the real binary: --version; --json on every
// command parses as JSON on success and on error, errors as {"error": {code, kind, message, ...}}
// on stdout with the documented exit code; bad targets named for what they are; `status` says why
// a bank was failed, with the panic from a core dump, and how many dumps wait.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cli, type CliResult } from '../helpers/cli.js';
import { changeBank } from '../helpers/images.js';
import { writeDump } from '../helpers/coredump.js';
import { scratch, repoRoot } from '../helpers/tools.js';
import { EXIT } from '../../support/exit-codes.js';
import { Bank, BootState, Reason, REASON_TEXT, StateEvent } from '../../partitions/bankstate.js';
import { status } from '../../disk/status.js';
import type { Manifest } from '../../builder/manifest.js';

const { dir, cleanup } = await scratch('bankforge-contract-');
const img = join(dir, 'c.img');
const built = await cli(['build', '--layout', 'small', '--out', img, '--version', '1.0.0', '--boot-timeout', '0', '--format', 'raw,xz', '--json']);
const manifest = JSON.parse(built.stdout) as Manifest;
const text = join(dir, 'notes.txt');
await writeFile(text, 'not an image\n');
const folder = join(dir, 'folder');
await mkdir(folder);

/** Runs the command with --json and returns its parsed stdout (the result or the error document). */
async function json(args: string[], code: number): Promise<{ r: CliResult; doc: Record<string, unknown> }> {
  const r = await cli([...args, '--json']);
  assert.is(r.exitCode, code, `${args.join(' ')}: exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new assert.Assertion({ message: `${args.join(' ')} --json: stdout is not one JSON document:\n${r.stdout}`, operator: 'json', expects: 'JSON', actual: r.stdout });
  }
  if (code !== 0) {
    const e = doc.error as Record<string, unknown>;
    assert.is(e.code, code, r.stdout);
    assert.type(e.message, 'string');
    assert.is(e.kind, Object.keys(EXIT).find((k) => EXIT[k as keyof typeof EXIT] === code));
    assert.is(r.stderr.includes('bankforge:'), false, `the error is on stdout only: ${r.stderr}`);
  }
  return { r, doc };
}

test('--version prints package.json\'s version, plain and as JSON', async () => {
  const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const r = await cli(['--version']);
  assert.is(r.exitCode, 0);
  assert.is(r.stdout, version);
  assert.equal((await json(['--version'], 0)).doc, { name: 'bankforge', version });
});

test('every command: --json is one JSON document on success', async () => {
  assert.is(built.exitCode, 0, built.stderr);
  assert.is(manifest.image.file, 'c.img');
  const work = join(dir, 'work.img');
  await copyFile(img, work);
  const bundle = join(dir, 'b.bfb');
  assert.is((await json(['bundle', '--version', '1.1.0', '--layout', 'small', '--boot-timeout', '0', '-o', bundle], 0)).doc.version, '1.1.0');
  assert.ok(((await json(['inspect', work], 0)).doc.partitions as unknown[]).length > 0);
  assert.is((await json(['upgrade', work, bundle], 0)).doc.bank, 'B');
  assert.is((await json(['status', work], 0)).doc.next, 'B');
  assert.equal((await json(['mark-good', work], 0)).doc, { bank: 'B', version: '1.1.0', written: true });
  const back = (await json(['rollback', work], 0)).doc;
  assert.equal([back.from, back.to, back.version], ['B', 'A', '1.0.0']);
  assert.is((await json(['config', work, 'set', 'hostname=esx01'], 0)).doc.seq, 1);
  assert.is(((await json(['config', work, 'get'], 0)).doc.settings as Record<string, string>).hostname, 'esx01');
  assert.ok(Array.isArray((await json(['coredump', work], 0)).doc.dumps));
  assert.ok(Array.isArray((await json(['devices'], 0)).doc));
  // run and flash succeed only with QEMU or a loop device: test/package/install.qemu.test.ts and test/disk/flash.
});

test('every command: an error with --json is {"error": ...} on stdout with the documented exit code', async () => {
  for (const args of [['inspect', text], ['status', text], ['rollback', text], ['mark-good', text], ['coredump', text],
    ['config', text, 'get'], ['config', text, 'set', 'hostname=x'], ['upgrade', text, text], ['run', text], ['flash', text, '/dev/null', '--yes'],
    ['bundle', '--version', '1.0.0', '--layout', text, '-o', join(dir, 'x.bfb')]]) {
    await json(args, EXIT.input);
  }
  const layout = join(dir, 'bad.json');
  await writeFile(layout, '{"partitions": 3}');
  const { doc } = await json(['build', '--layout', layout, '--out', join(dir, 'x.img')], EXIT.input);
  assert.equal({ file: (doc.error as { file: string }).file, field: (doc.error as { field: string }).field }, { file: layout, field: 'partitions' });
  await json(['devices', '--no-such-option'], EXIT.usage);
  await json(['frobnicate'], EXIT.usage);
  // `--` before the command: yargs parses no command after it.
  for (const args of [['--', 'status', img], ['--', 'frobnicate'], ['--', '--version']]) {
    const { doc } = await json(args, EXIT.usage);
    assert.match((doc.error as { message: string }).message, /^-- comes before the command/, args.join(' '));
  }
});

test('bad targets are named for what they are: a text file, a compressed image, a directory (exit 3, also for config FILE get)', async () => {
  for (const cmd of [['status'], ['inspect'], ['config', '', 'get'], ['run']]) {
    const at = (target: string) => (cmd.length === 3 ? [cmd[0]!, target, cmd[2]!] : [cmd[0]!, target]);
    let r = await cli(at(text));
    assert.is(r.exitCode, EXIT.input, r.stderr);
    assert.match(r.stderr, `${text} is a text file, not a disk image`);
    r = await cli(at(`${img}.xz`));
    assert.is(r.exitCode, EXIT.input, r.stderr);
    assert.match(r.stderr, `${img}.xz is a compressed image (xz)`);
    r = await cli(at(folder));
    assert.is(r.exitCode, EXIT.input, r.stderr);
    assert.match(r.stderr, `${folder} is a directory`);
  }
});

test('status: every reason code the format defines is shown by name, with its meaning, the panic from a core dump, and the dumps waiting', async () => {
  const work = join(dir, 'reasons.img');
  await copyFile(img, work);
  for (const [code, name] of Object.entries(REASON_TEXT)) {
    if (Number(code) === Reason.None) continue;
    await changeBank(work, Bank.B, (s) => { s.bootstate = BootState.Invalid; s.reason = Number(code); }, StateEvent.Invalid);
    const b = (await status(work)).banks[1]!;
    assert.is(b.reason, name);
    assert.ok(b.why.startsWith(name), b.why);
  }
  await changeBank(work, Bank.A, (s) => { s.bootstate = BootState.Invalid; s.reason = Reason.TriesExhausted; s.triesLeft = 0; }, StateEvent.Invalid);
  await writeDump(work, manifest, { seq: 5, bank: Bank.A, build: '1.0.0', reason: 'assertion failed: ring->head < 64' });
  await writeDump(work, manifest, { seq: 6, bank: Bank.B, build: '0.9.0', reason: 'from another version' });
  const r = await cli(['status', work]);
  assert.is(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /last: tries exhausted; booted 3 times on trial without a mark-good/);
  assert.match(r.stdout, 'last panic (core dump seq 5): assertion failed: ring->head < 64');
  assert.not.match(r.stdout, 'from another version');
  assert.match(r.stdout, `2 core dumps waiting: bankforge coredump ${work}`);
  const j = JSON.parse((await cli(['status', work, '--json'])).stdout);
  assert.equal(j.coredumps, { waiting: 2, newestSeq: 6, command: `bankforge coredump ${work}` });
  assert.equal(j.banks[0].panic, { seq: 5, message: 'assertion failed: ring->head < 64' });
  // A code the table does not know yet is still shown, as a number.
  await changeBank(work, Bank.B, (s) => { s.reason = 200; }, StateEvent.Invalid);
  assert.match((await cli(['status', work])).stdout, 'last: unknown (200)');
});

test('build says what it does while compressing', async () => {
  const r = await cli(['build', '--layout', 'small', '--out', join(dir, 'p.img'), '--format', 'xz,vmdk']);
  assert.is(r.exitCode, 0, r.stderr);
  assert.match(r.stderr, `compressing ${join(dir, 'p.img')} to ${join(dir, 'p.img')}.xz`);
  assert.match(r.stderr, `converting ${join(dir, 'p.img')} to ${join(dir, 'p.vmdk')}`);
});

test.after(cleanup);
test.run();
