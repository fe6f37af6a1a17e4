// cli/stdout.ts writes to fd 1 itself: every byte must arrive, in order, also when fd 1 is a
// non-blocking pipe that fills up (EAGAIN: it waits for room), and a reader that has gone ends the
// output quietly (exit 0, nothing on stderr). Any other failure is said once the command is over,
// with exit 9 in place of a success (docs/cli.md, "Output").

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { repoRoot } from '../helpers/tools.js';
import { EXIT } from '../../support/exit-codes.js';

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

/** A Node that prints a line with printOut into /dev/full, with `exitCode` set first, then settles. */
async function settled(exitCode: number): Promise<{ code: number | null; err: string }> {
  const script = `process.exitCode = ${exitCode};
const { printOut, settleOutput } = await import(${JSON.stringify(MODULE)});
printOut('a line\\n');
printOut('another\\n');
settleOutput();`;
  const child = spawn('sh', ['-c', '"$0" --input-type=module -e "$1" > /dev/full', process.execPath, script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const [code] = await once(child, 'close') as [number | null];
  return { code, err };
}

test('a full disk: said once on stderr; 0 and 4 become 9, a failure keeps its code', async () => {
  for (const [before, after] of [[EXIT.ok, EXIT.outputLost], [EXIT.warnings, EXIT.outputLost], [EXIT.input, EXIT.input], [EXIT.internal, EXIT.internal]]) {
    const r = await settled(before);
    assert.is(r.code, after, `exit ${before}: ${r.err}`);
    assert.is(r.err, 'bankforge: the output could not be written to stdout: ENOSPC: no space left on device, write\n');
  }
});

test.run();
