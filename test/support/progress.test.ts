// support/progress.ts: what a long command says as it goes, on a terminal, a pipe, or not at all.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeProgress } from '../../support/progress.js';

/** A stream that keeps what is written to it; a terminal or not. */
function sink(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const s = { text: '', isTTY, write(chunk: string) { s.text += chunk; return true; } };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

test('--quiet says nothing, and does not make process.stderr (a socket on a pipe, node:net loaded, the exit waiting for it)', () => {
  const own = Object.getOwnPropertyDescriptor(process, 'stderr')!;
  let touched = false;
  Object.defineProperty(process, 'stderr', { configurable: true, get() { touched = true; return own.get ? own.get.call(process) : own.value; } });
  try {
    const p = makeProgress({ quiet: true });
    p.step('planning');
    p.done('built');
  } finally {
    Object.defineProperty(process, 'stderr', own);
  }
  assert.is(touched, false);
});

test('on a pipe each step is a line; on a terminal one line is rewritten in place and ended by done', () => {
  const pipe = sink(false);
  const p = makeProgress({ quiet: false, stream: pipe });
  p.step('planning');
  p.done('built');
  assert.is(pipe.text, 'planning\nbuilt\n');
  const tty = sink(true);
  const t = makeProgress({ quiet: false, stream: tty });
  t.step('planning');
  t.step('writing');
  t.done('built');
  assert.is(tty.text, '\r\x1b[Kplanning\r\x1b[Kwriting\r\x1b[Kbuilt\n');
});

test.run();
