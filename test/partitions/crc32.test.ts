// partitions/crc32.ts: common/crc32.c as WebAssembly against the crc-32 package (the oracle), on
// the standard check value, on random inputs of every size around its 64 KiB window, continued
// from random CRCs; and the crc-32 package where WebAssembly cannot run (--jitless, ulimit -v).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import CRC32 from 'crc-32';
import { crc32 } from '../../partitions/crc32.js';

// A tiny deterministic PRNG, so a failure can be replayed.
let seed = 0x2545f491;
const rnd = (n: number) => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed % n; };
const bytes = (n: number) => Uint8Array.from({ length: n }, () => rnd(256));
const oracle = (data: Uint8Array, crc = 0) => CRC32.buf(data, crc) >>> 0;

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
const { crc32 } = await import(${JSON.stringify(new URL('../../partitions/crc32.js', import.meta.url).href)});
let wasm = 'none';
try { new WebAssembly.Memory({ initial: 1 }); wasm = 'runs'; } catch {}
const data = new Uint8Array(100000).map((_, i) => (i * 7919) >>> 3);
console.log(wasm, crc32(Buffer.from('123456789')).toString(16), crc32(data).toString(16), crc32(data.subarray(5), 0x12345678).toString(16));`;

const expected = () => {
  const data = new Uint8Array(100000).map((_, i) => (i * 7919) >>> 3);
  return ['cbf43926', oracle(data).toString(16), oracle(data.subarray(5), 0x12345678).toString(16)].join(' ');
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

test.run();
