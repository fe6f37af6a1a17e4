// cli/stdout.ts writes to fd 1 itself: every byte must arrive, in order, also when fd 1 is a
// non-blocking pipe that fills up (EAGAIN: the rest goes through process.stdout), and a reader
// that has gone ends the output quietly (exit 0, nothing on stderr), as through process.stdout.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { repoRoot } from '../helpers/tools.js';

const MODULE = pathToFileURL(join(repoRoot, 'dist', 'cli', 'stdout.js')).href;
const SIZE = 4 << 20; // far more than a pipe holds

/** A Node that prints SIZE bytes with printOut, after `prelude`; its exit code, stdout as read after `delayMs`, stderr. */
async function printer(prelude: string, delayMs: number, readIt: boolean): Promise<{ code: number | null; out: Buffer; err: string }> {
  const script = `${prelude}
const { printOut } = await import(${JSON.stringify(MODULE)});
printOut(Array.from({ length: ${SIZE / 8} }, (_, i) => (i % 0x10000000).toString(16).padStart(7, '0') + '\\n').join(''));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  child.stdout.pause();
  if (readIt) setTimeout(() => { child.stdout.on('data', (d: Buffer) => chunks.push(d)); child.stdout.resume(); }, delayMs);
  else child.stdout.destroy();
  const [code] = await once(child, 'close') as [number | null];
  return { code, out: Buffer.concat(chunks), err };
}

const expected = Buffer.from(Array.from({ length: SIZE / 8 }, (_, i) => (i % 0x10000000).toString(16).padStart(7, '0') + '\n').join(''));

test('a blocking pipe read late: every byte, in order', async () => {
  const r = await printer('', 300, true);
  assert.is(r.err, '');
  assert.is(r.code, 0);
  assert.ok(r.out.equals(expected), `${r.out.length} bytes arrived of ${expected.length}`);
});

test('a non-blocking pipe that fills up (EAGAIN): every byte, in order', async () => {
  // net.Socket on fd 1 sets O_NONBLOCK on it, as another program sharing the pipe might.
  const r = await printer("import net from 'node:net'; new net.Socket({ fd: 1, readable: false, writable: true });", 300, true);
  assert.is(r.err, '');
  assert.is(r.code, 0);
  assert.ok(r.out.equals(expected), `${r.out.length} bytes arrived of ${expected.length}`);
});

test('a reader that has gone (EPIPE): exit 0, nothing on stderr', async () => {
  const r = await printer('', 0, false);
  assert.is(r.err, '');
  assert.is(r.code, 0);
});

test.run();
