// `coredump --extract DIR` under the output-path rule: DIR/seq-N/ appears whole or not at all; a
// DIR that is a file, an existing seq-N, or a directory that cannot be made is exit 3 with
// nothing written (and /proc/1/x answers at once instead of spinning).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from '../../builder/build.js';
import { writeDump } from '../helpers/coredump.js';
import { cli } from '../helpers/cli.js';
import { quiet } from '../helpers/images.js';
import { scratch } from '../helpers/tools.js';

/** A small image whose core-dump partition holds one complete dump, seq 5. */
async function imageWithDump(dir: string): Promise<string> {
  const img = join(dir, 'd.img');
  const { manifest } = await build({ layout: 'small', out: img, version: '1.0.0', progress: quiet });
  await writeDump(img, manifest, { seq: 5, bank: 0, build: '1.0.0', reason: 'test panic' });
  return img;
}

test('--extract: onto a file, an existing seq-N, /proc/1/x, an empty name: refused, nothing written; then a clean extract is whole', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const img = await imageWithDump(dir);
    await writeFile(join(dir, 'afile'), 'x');
    let r = await cli(['coredump', img, '--extract', join(dir, 'afile')]);
    assert.is(r.exitCode, 3, r.stderr);
    assert.match(r.stderr, 'not a directory');
    assert.is(await readFile(join(dir, 'afile'), 'utf8'), 'x');

    await mkdir(join(dir, 'out', 'seq-5'), { recursive: true });
    r = await cli(['coredump', img, '--extract', join(dir, 'out')]);
    assert.is(r.exitCode, 3, r.stderr);
    assert.match(r.stderr, 'seq-5 exists');
    assert.equal(await readdir(join(dir, 'out', 'seq-5')), []);

    const started = Date.now();
    r = await cli(['coredump', img, '--extract', '/proc/1/x']);
    assert.is(r.exitCode, 3, r.stderr);
    assert.match(r.stderr, 'cannot write /proc/1/x');
    assert.ok(Date.now() - started < 10_000, 'answers at once');

    r = await cli(['coredump', img, '--extract', '']);
    assert.is(r.exitCode, 2, r.stderr);

    r = await cli(['coredump', img, '--extract', join(dir, 'new')]);
    assert.is(r.exitCode, 0, r.stderr);
    assert.equal(await readdir(join(dir, 'new')), ['seq-5']);
    assert.equal((await readdir(join(dir, 'new', 'seq-5'))).sort(), ['backtrace.txt', 'body.bin', 'header.json', 'log.txt', 'registers.txt']);
    assert.is(await readFile(join(dir, 'new', 'seq-5', 'log.txt'), 'utf8'), 'hello\n');
  } finally {
    await cleanup();
  }
});

test.run();
