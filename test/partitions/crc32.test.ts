// partitions/crc32.ts: common/crc32.c as WebAssembly against the crc-32 package (the oracle), on
// the standard check value, on random inputs of every size around its 64 KiB window, continued
// from random CRCs; and the crc-32 package where WebAssembly cannot run (--jitless, ulimit -v),
// in the module and in the CLI's bundle.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import CRC32 from 'crc-32';
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, crc32Implementation } from '../../partitions/crc32.js';
import { writeGpt } from '../../partitions/gpt.js';
import { GPT_TYPE_ALIASES } from '../../partitions/gpt-types.js';
import { repoRoot, scratch } from '../helpers/tools.js';

// A tiny deterministic PRNG, so a failure can be replayed.
let seed = 0x2545f491;
const rnd = (n: number) => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed % n; };
const bytes = (n: number) => Uint8Array.from({ length: n }, () => rnd(256));
const oracle = (data: Uint8Array, crc = 0) => CRC32.buf(data, crc) >>> 0;

test('here, where WebAssembly runs, the WebAssembly build of common/crc32.c is what answers', () => {
  // Otherwise every test below would hold the crc-32 package against itself.
  assert.is(crc32Implementation(), 'webassembly');
});

test('the check value of CRC-32/ISO-HDLC: "123456789" is 0xCBF43926', () => {
  assert.is(crc32(Buffer.from('123456789', 'latin1')), 0xcbf43926);
  assert.is(crc32(new Uint8Array(0)), 0);
  assert.is(crc32(new Uint8Array(0), 0xdeadbeef), 0xdeadbeef, 'nothing to add leaves the CRC as it was');
});

test('the same as the crc-32 package on random inputs, at every length around the 64 KiB window, continued from random CRCs', () => {
  const lengths = [1, 2, 3, 92, 508, 16384, 65535, 65536, 65537, 131072, 131073, 200003, ...Array.from({ length: 200 }, () => rnd(3000))];
  for (const n of lengths) {
    const data = bytes(n);
    const from = rnd(2) ? 0 : (rnd(0x10000) * 0x10000 + rnd(0x10000)) >>> 0;
    assert.is(crc32(data, from), oracle(data, from), `${n} bytes from 0x${from.toString(16)}`);
  }
});

test('a view into a larger buffer is read at its offset, and a CRC continued is the CRC of the whole', () => {
  const whole = bytes(70000);
  for (let i = 0; i < 50; i++) {
    const at = rnd(whole.length);
    const part = whole.subarray(at, at + rnd(whole.length - at + 1));
    assert.is(crc32(part), oracle(part), `bytes ${at}..${at + part.length}`);
    assert.is(crc32(whole.subarray(at), crc32(whole.subarray(0, at))), crc32(whole), `split at ${at}`);
  }
  assert.is(crc32(Buffer.from(whole.buffer, 3, 1000)), oracle(whole.subarray(3, 1003)), 'a Buffer over the same memory');
});

// Where WebAssembly cannot run, crc32 still answers, from the crc-32 package. Each child first
// shows that WebAssembly is not there for it, so that the package is what answered.
const probe = `
const { crc32, crc32Implementation } = await import(${JSON.stringify(new URL('../../partitions/crc32.js', import.meta.url).href)});
let wasm = 'none';
try { new WebAssembly.Memory({ initial: 1 }); wasm = 'runs'; } catch {}
const data = new Uint8Array(100000).map((_, i) => (i * 7919) >>> 3);
console.log(wasm, crc32Implementation(), crc32(Buffer.from('123456789')).toString(16), crc32(data).toString(16), crc32(data.subarray(5), 0x9abcdef0).toString(16));`;

const expected = () => {
  const data = new Uint8Array(100000).map((_, i) => (i * 7919) >>> 3);
  return ['crc-32 package', 'cbf43926', oracle(data).toString(16), oracle(data.subarray(5), 0x9abcdef0).toString(16)].join(' ');
};

test('without WebAssembly (node --jitless) the crc-32 package gives the same values', async () => {
  const r = await execa(process.execPath, ['--jitless', '--input-type=module', '-e', probe], { reject: false });
  assert.is(r.exitCode, 0, r.stderr);
  assert.is(r.stdout.trim(), `none ${expected()}`);
});

test('without the address space for its memory (ulimit -v) the crc-32 package gives the same values', async () => {
  const r = await execa('sh', ['-c', `ulimit -v 4000000; exec "$0" --input-type=module -e "$1"`, process.execPath, probe], { reject: false });
  assert.is(r.exitCode, 0, r.stderr);
  assert.is(r.stdout.trim(), `none ${expected()}`);
});

// The CLI's bundle loads the package from its own place (dist/cli-bundle/), through createRequire.
test('the CLI without WebAssembly reads a GPT through the crc-32 package: --jitless, ulimit -v', async () => {
  const { dir, cleanup } = await scratch('bankforge-crc32-');
  try {
    const image = join(dir, 'gpt.img');
    const sectors = 16 * 2048;
    const fd = openSync(image, 'w');
    try {
      ftruncateSync(fd, sectors * 512);
      const partitions = [{ index: 0, typeGuid: GPT_TYPE_ALIASES['basic-data']!, guid: '00000000-0000-4000-8000-000000000001', firstLba: 2048, lastLba: 4095, attributes: 0n, name: 'first' }];
      for (const e of writeGpt({ sectorSize: 512, sectorCount: sectors, diskGuid: '00000000-0000-4000-8000-000000000000', partitions })) writeSync(fd, e.data, 0, e.data.length, e.offset);
    } finally {
      closeSync(fd);
    }
    const bin = join(repoRoot, 'bin', 'bankforge.js');
    const runs = {
      '--jitless': await execa(process.execPath, ['--jitless', bin, 'inspect', image, '--json'], { reject: false }),
      'ulimit -v': await execa('sh', ['-c', 'ulimit -v 4000000; exec "$0" "$@"', process.execPath, bin, 'inspect', image, '--json'], { reject: false }),
    };
    for (const [how, r] of Object.entries(runs)) {
      // A GPT whose CRCs did not check would be a warning (exit 4) and the backup's partitions.
      assert.is(r.exitCode, 0, `${how}: ${r.stderr}`);
      const report = JSON.parse(r.stdout) as { warnings: string[]; partitions: { name: string }[] };
      assert.equal(report.warnings, [], how);
      assert.equal(report.partitions.map((p) => p.name), ['first'], how);
    }
  } finally {
    await cleanup();
  }
});

test.run();
