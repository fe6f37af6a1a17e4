// CRC-32 (IEEE 802.3: reflected, polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF), the
// CRC of GPT and of our records. It runs the loader's and the kernel's own code, common/crc32.c,
// compiled to WebAssembly at build time (scripts/crc32-wasm.mjs): one implementation for them
// and this side, which test/partitions/crc32.test.ts holds against the crc-32 package.
// Why not the crc-32 package on every call: a short command such as `status` checks a GPT's 16 KiB
// entry array once, and JavaScript run once runs in V8's interpreter, and this loop gets V8's
// optimizing compiler started on it, which the process then waits for as it exits: `status` took
// ~5 ms longer (docs/performance.md, "Start-up"). Where WebAssembly cannot run (node --jitless; an
// address-space limit, `ulimit -v`, too small for its memory), the crc-32 package computes the
// same values, loaded only then.
// The C takes four bytes a step through 4 KiB of tables: ~1 ns a byte here, as fast as the
// package once V8 has optimized it, on core-dump bodies (up to a slot, 1 MiB by default) too.

import { createRequire } from 'node:module';
import { CRC32_WASM } from './crc32-wasm.js';

/** Continues `crc` over `data`; both unsigned. */
type Engine = (crc: number, data: Uint8Array) => number;

interface CrcExports {
  memory: WebAssembly.Memory;
  /** common/crc32.h's bf_crc32(crc, data, len), with `data` an address in `memory`. */
  bf_crc32(crc: number, at: number, len: number): number;
  __heap_base: WebAssembly.Global;
}

const PAGE = 65536;
/** Input goes through this much of the module's memory at a time, so any length fits. */
const WINDOW = 65536;

export type Implementation = 'webassembly' | 'crc-32 package';

let engine: { name: Implementation; run: Engine } | undefined;

function wasmEngine(): Engine | undefined {
  if (typeof WebAssembly !== 'object') return undefined;
  let crcExports: CrcExports;
  try {
    crcExports = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(CRC32_WASM, 'base64'))).exports as unknown as CrcExports;
    const short = Number(crcExports.__heap_base.value) + WINDOW - crcExports.memory.buffer.byteLength;
    if (short > 0) crcExports.memory.grow(Math.ceil(short / PAGE));
  } catch (e) {
    // No memory for the instance or its growth: an address-space limit. Anything else (a module
    // that does not compile or link) is a build's mistake, not a reason to run something else.
    if (e instanceof RangeError) return undefined;
    throw e;
  }
  const { memory, bf_crc32 } = crcExports;
  const at = Number(crcExports.__heap_base.value);
  const window = new Uint8Array(memory.buffer, at, WINDOW);
  return (crc, data) => {
    for (let done = 0; done < data.length; done += WINDOW) {
      const part = data.subarray(done, done + WINDOW);
      window.set(part);
      crc = bf_crc32(crc, at, part.length);
    }
    return crc >>> 0;
  };
}

function packageEngine(): Engine {
  const { buf } = createRequire(import.meta.url)('crc-32') as { buf(data: Uint8Array, seed?: number): number };
  return (crc, data) => buf(data, crc) >>> 0;
}

function chosen(): { name: Implementation; run: Engine } {
  if (!engine) {
    const wasm = wasmEngine();
    engine = wasm ? { name: 'webassembly', run: wasm } : { name: 'crc-32 package', run: packageEngine() };
  }
  return engine;
}

/** The CRC-32 of `data`, unsigned; with `crc`, of what that was the CRC of followed by `data`. */
export function crc32(data: Uint8Array, crc = 0): number {
  return chosen().run(crc, data);
}

/** Which implementation computes crc32 in this process (the tests hold each to the other). */
export function crc32Implementation(): Implementation {
  return chosen().name;
}
