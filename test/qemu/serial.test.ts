// The serial console's text handling without QEMU: lines split across chunks, terminal escapes
// removed, expect-style consumption, prompts without a newline, and the messages of failed waits.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SerialConsole, SerialClosedError, SerialTimeoutError, cleanLine } from '../../qemu/serial.js';

test('lines are split across chunks, with OVMF terminal escapes and CRs removed', () => {
  const s = new SerialConsole('t');
  for (const chunk of ['\x1b', '[', '2', 'J\x1b[01;01H\x1b[=3hBds', 'Dxe: loading\r', '\nsecond\r\nthi', 'rd']) s.feed(chunk);
  assert.equal(s.lines, ['BdsDxe: loading', 'second']);
  assert.equal(s.lastLines(), ['BdsDxe: loading', 'second', 'third']);
  assert.ok(s.output.startsWith('\x1b[2J'), 'output keeps the escapes');
  assert.is(cleanLine('a\x1b[1;37;40mb\x1b(Bc\x07\x1b['), 'abc');
});

test('waitFor finds a line printed before it was called, and each wait consumes its match', async () => {
  const s = new SerialConsole('t');
  s.feed('hello 1\nother\nhello 2\n');
  assert.is((await s.waitFor(/hello (\d)/))[1], '1');
  assert.is((await s.waitFor(/hello (\d)/))[1], '2');
  const third = s.waitFor(/hello (\d)/, { timeoutMs: 1000 });
  s.feed('hel');
  s.feed('lo 3\n');
  assert.is((await third)[1], '3');
});

test('a string pattern matches literally; g and y flags do not make matches depend on earlier ones', async () => {
  const s = new SerialConsole('t');
  s.feed('axb\na.b\nkey=1\nkey=2\n');
  assert.is((await s.waitFor('a.b')).input, 'a.b');
  const g = /key=(\d)/g;
  assert.is((await s.waitFor(g))[1], '1');
  assert.is((await s.waitFor(g))[1], '2');
});

test('an unfinished line (a prompt) matches, and is not matched again when it completes', async () => {
  const s = new SerialConsole('t');
  s.feed('login: ');
  assert.is((await s.waitFor(/login:/)).input, 'login: ');
  s.feed('root\nlogin: again\n');
  assert.is((await s.waitFor(/login:/)).input, 'login: again');
});

test('an unfinished line is not matched while it is still arriving', async () => {
  const s = new SerialConsole('t');
  s.feed('ready: bank B 2');
  const m = s.waitFor(/bank (\w) (\S+)/, { timeoutMs: 1000 });
  await new Promise((r) => setTimeout(r, 20));
  s.feed('.0.0');
  await new Promise((r) => setTimeout(r, 20));
  s.feed(' (trial)\n');
  assert.is((await m)[2], '2.0.0');
});

test('a timeout names the pattern, the time waited and the last lines', async () => {
  const s = new SerialConsole('box');
  for (let i = 1; i <= 30; i++) s.feed(`line ${i}\n`);
  s.feed('partial');
  const e = await s.waitFor(/never/, { timeoutMs: 50 }).then(() => undefined, (x: unknown) => x);
  assert.instance(e, SerialTimeoutError);
  const err = e as SerialTimeoutError;
  assert.ok(err.elapsedMs >= 50, `elapsed ${err.elapsedMs}`);
  assert.is(err.lastLines.length, 20);
  // The time is the timer's, which a loaded machine can fire late: any figure, at least 0.05 s.
  assert.match(err.message, /^timed out after \d+\.\d s waiting for \/never\/ on the serial console of box; last 20 lines:\n {2}\| line 12\n/);
  assert.match(err.message, /\| line 30\n {2}\| partial$/);
});

test('closing fails pending and later waits, but lines already printed still match', async () => {
  const s = new SerialConsole('box');
  const pending = s.waitFor(/never/, { timeoutMs: 10_000 });
  s.feed('last words\n');
  s.close('QEMU exited with status 0');
  const e = await pending.then(() => undefined, (x: unknown) => x);
  assert.instance(e, SerialClosedError);
  assert.match((e as Error).message, /^QEMU exited with status 0 after 0\.\d s, while waiting for \/never\/ on the serial console of box; last 1 lines:\n {2}\| last words$/);
  assert.is((await s.waitFor(/last/)).input, 'last words');
  await s.waitFor(/x/).then(() => assert.unreachable('matched after close'), (x: unknown) => assert.instance(x, SerialClosedError));
});

test.run();
