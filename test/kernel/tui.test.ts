// The console's pure parts built for the host under ASan and UBSan (test/c/tui-host.c): the text
// grid, the painter that sends a device only the cells that changed, and the decoder that turns a
// terminal's bytes into keys (a lone Esc is a key once KEYDEC_ESC_MS pass, and the key after it
// is never lost).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileHost, HostProgram } from '../helpers/c-host.js';

const host = new HostProgram(await compileHost('tui-host', ['test/c/tui-host.c', 'kernel/grid.c', 'kernel/keydec.c']));
test.after(async () => { await host.close(); });

const hex = (s: string) => (s ? Buffer.from(s, 'latin1').toString('hex') : '-');
type Painted = { n: number; cells: [number, number, number, number][] };
const rows = async () => (await host.ask<{ rows: string[] }>('rows')).rows;
const paint = () => host.ask<Painted>('paint');
const keys = async (tokens: string) => (await host.ask<{ keys: string[] }>(`keys ${tokens}`)).keys;
/** Bytes of `s` as keys tokens, all at the same instant. */
const bytes = (s: string) => [...Buffer.from(s, 'latin1')].map((b) => b.toString(16).padStart(2, '0')).join(' ');

test('grid: text and fill are clipped to the grid; text stops at its limit', async () => {
  await host.ask('grid 10 3');
  assert.is((await host.ask<{ n: number }>(`text 6 0 99 7 ${hex('abcdefgh')}`)).n, 4);
  assert.is((await host.ask<{ n: number }>(`text 0 1 3 7 ${hex('abcdefgh')}`)).n, 3);
  assert.is((await host.ask<{ n: number }>(`text 0 3 10 7 ${hex('off')}`)).n, 0, 'below the last row');
  assert.is((await host.ask<{ n: number }>(`text -2 2 10 7 ${hex('xyz')}`)).n, 1, 'starts left of the grid: only z lands');
  await host.ask('fill -5 -5 7 7 23');
  assert.equal(await rows(), ['      abcd', '  c       ', 'z         ']);
});

test('painter: the first paint sends what differs from the blank screen, a repaint nothing, a change only its cells', async () => {
  await host.ask('grid 8 4');
  await host.ask(`text 1 1 8 7 ${hex('DCUI')}`);
  let p = await paint();
  assert.is(p.n, 4);
  assert.equal(p.cells, [[1, 1, 68, 7], [2, 1, 67, 7], [3, 1, 85, 7], [4, 1, 73, 7]]);
  assert.is((await paint()).n, 0, 'nothing changed');
  await host.ask(`text 1 1 8 7 ${hex('DCUX')}`);
  p = await paint();
  assert.equal(p.cells, [[4, 1, 88, 7]], 'one character');
  await host.ask(`text 1 1 8 ${0x70} ${hex('D')}`);
  p = await paint();
  assert.equal(p.cells, [[1, 1, 68, 0x70]], 'only the colour changed: still painted');
  await host.ask(`fill 0 0 8 4 7`);
  p = await paint();
  assert.is(p.n, 4, 'clearing paints only the cells that held text');
  assert.ok(p.cells.every(([, , ch, attr]) => ch === 32 && attr === 7));
  assert.is((await host.ask<{ n: number }>('paintbad')).n, -1, 'grids of different sizes: nothing painted');
});

test('log console: putc wraps, tabs, scrolls the cells (not the device), and the painter sends only what moved', async () => {
  await host.ask('grid 6 3');
  assert.equal(await host.ask(`putc 7 ${hex('one\ntwo\nthree\n')}`), { cx: 0, cy: 2 });
  assert.equal(await rows(), ['two   ', 'three ', '      ']);
  await paint();
  // The same line again: "three" moves up over "two", which shares nothing with it but the 't'.
  await host.ask(`putc 7 ${hex('three\n')}`);
  assert.equal(await rows(), ['three ', 'three ', '      ']);
  const p = await paint();
  assert.equal(p.cells.map(([x, y]) => `${x},${y}`), ['1,0', '2,0', '3,0', '4,0'], 'row 0 t is kept; row 1 unchanged');
  assert.equal(await host.ask(`putc 7 ${hex('abcdefgh\tz')}`), { cx: 1, cy: 2 });
  assert.equal(await rows(), ['abcdef', 'gh    ', 'z     '], 'wrapped at the edge; the tab ran to the edge');
});

test('keys: arrows, Home/End, PgUp/PgDn, Delete and F1-F12 in xterm, VT220 and Linux console forms', async () => {
  assert.equal(await keys(bytes('\x1b[A\x1b[B\x1b[C\x1b[D\x1bOA\x1bOD')), ['Up', 'Down', 'Right', 'Left', 'Up', 'Left']);
  assert.equal(await keys(bytes('\x1b[H\x1b[F\x1b[1~\x1b[4~\x1b[5~\x1b[6~\x1b[3~')), ['Home', 'End', 'Home', 'End', 'PgUp', 'PgDn', 'Del']);
  assert.equal(await keys(bytes('\x1bOP\x1bOQ\x1bOR\x1bOS\x1b[15~\x1b[17~\x1b[18~\x1b[19~\x1b[20~\x1b[21~\x1b[23~\x1b[24~')),
    ['F1', 'F2', 'F3', 'F4', 'F5', 'F6', 'F7', 'F8', 'F9', 'F10', 'F11', 'F12']);
  assert.equal(await keys(bytes('\x1b[11~\x1b[12~\x1b[[A\x1b[[B\x1b[[E')), ['F1', 'F2', 'F1', 'F2', 'F5'], 'VT220 and Linux console F-keys');
  assert.equal(await keys(bytes('\x1b[24;3~\x1b[1;3P\x1b\x1b[12~\x1b[1;2A\x1b[1;5B')), ['Alt+F12', 'Alt+F1', 'Alt+F2', 'Up', 'Down'],
    'xterm modifiers: 3 = Alt; Shift (2) and Ctrl (5) are not Alt; ESC before a sequence is Alt (meta)');
});

test('keys: Enter is one key for CR, LF, CR LF and CR NUL; DEL and BS are Backspace; other controls are dropped', async () => {
  assert.equal(await keys(bytes('a\r\nb\rc\nd\r\0e\x7f\x08\t\x01\x02z')), ['a', 'Enter', 'b', 'Enter', 'c', 'Enter', 'd', 'Enter', 'e', 'Backspace', 'Backspace', 'Tab', 'z']);
  assert.equal(await keys(bytes('\r\r\n')), ['Enter', 'Enter'], 'two Enters, the second sent as CR LF');
});

test('keys: a lone Esc is a key once 50 ms pass; the next key is not lost, whether it comes late or at once', async () => {
  assert.equal(await keys('1b'), [], 'an ESC alone is held: it may start a sequence');
  assert.equal(await keys('1b +49'), [], 'still held at 49 ms');
  assert.equal(await keys('1b +50'), ['Esc']);
  assert.equal(await keys(`1b +200 ${bytes('2')}`), ['Esc', '2'], 'the old decoder swallowed this 2');
  assert.equal(await keys(`1b ${bytes('q')}`), ['Esc', 'q'], 'ESC then an ordinary byte at once: both');
  assert.equal(await keys(`1b 1b +50`), ['Esc', 'Esc']);
  assert.equal(await keys(`1b ${bytes('[')} +60 ${bytes('x')}`), ['Esc', '[', 'x'], 'a sequence never finished was typed');
  assert.equal(await keys(`1b ${bytes('[99~')} ${bytes('k')} 1b ${bytes('[?1;2c')} ${bytes('j')}`), ['k', 'j'], 'unknown sequences are dropped whole');
  assert.equal(await keys(`${bytes('\x1b[' + '1'.repeat(30) + '~')} ${bytes('m')}`), ['m'], 'a sequence too long to be a key is dropped up to its final byte');
  assert.equal(await keys(`${bytes('\x1b[' + '1'.repeat(30))} +60 ${bytes('n')}`), ['n'], '... or until it times out');
});

test('keys: random byte strings with random pauses never upset the decoder (ASan, UBSan)', async () => {
  const r = await host.ask<{ bytes: number; keys: number }>('fuzz 7417 20000');
  assert.ok(r.bytes > 100000 && r.keys > 0, JSON.stringify(r));
});

test.run();
