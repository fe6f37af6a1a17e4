// Loads a CLI bundle (dist/cli-bundle/main.cjs or direct.cjs, scripts/bundle-cli.mjs) with the V8
// code cache made beside it at build time (main.cache or main-build.cache, direct.cache): compiling the bundle and
// then yargs' and a command's functions as they first run is most of what a start-up costs beyond
// Node's own, and the cache hands V8 all of that compiled. Node 20 has no compile cache of its own
// for modules.
// The cache is used only when it is the one made for this bundle and arrived whole: its first line
// is the build id the bundle ends with and a checksum of the rest (V8 itself checks the source's
// length, its own version and flags, and drops a cache that fails those); without it the bundle
// compiles from source, as any script does.
// A script compiled by vm has no import() of its own that works in Node 20 without an
// experimental flag, so the bundle's import() calls (execa, ESM only) are this file's: the bundle
// step turns them into calls of __bankforgeImport, a parameter of the function the bundle is
// written as (WRAPPER: vm compiles the file's text as it is read, with no copy to make).
'use strict';

const { readFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname } = require('node:path');
const vm = require('node:vm');

const ID_MARK = '\n//# bankforge-build ';
const WRAPPER = {
  head: '(function (exports, require, module, __filename, __dirname, __bankforgeImport) {',
  tail: '\n})',
  importName: '__bankforgeImport',
};

/** The build id the bundle's source ends with, '' if none. */
function buildId(source) {
  const at = source.lastIndexOf(ID_MARK);
  return at < 0 ? '' : source.slice(at + ID_MARK.length).trim();
}

// V8 in Node 20 checks a code cache's checksum only when told to (--verify-snapshot-checksum);
// without it, a cache whose payload is damaged, its header intact, is deserialized as it is and
// the process dies of SIGSEGV. The flag costs more than it saves: set from JavaScript it needs
// node:v8, which loads the stream modules (~2 ms of every start), and on Node's command line
// V8 checks Node's own start-up snapshot too (~5 ms). So the cache carries a checksum of its own,
// which this WebAssembly function computes, ~0.5 ms for the 94 KB status reads (in JavaScript,
// 1.7 ms). The function, as WebAssembly text:
//   (module (memory (export "memory") 1)
//     (func (export "sum") (param $end i32) (param $h i64) (result i64) (local $p i32)
//       (block (loop
//         (br_if 1 (i32.ge_u (local.get $p) (local.get $end)))
//         ;; four times, at offsets 0, 8, 16, 24:
//         (local.set $h (i64.mul (i64.rotl (i64.xor (local.get $h) (i64.load offset=0 (local.get $p))) (i64.const 29))
//                                (i64.const 0x9e3779b97f4a7c15)))
//         (local.set $p (i32.add (local.get $p) (i32.const 32)))
//         (br 0)))
//       (local.get $h)))
// $h starts as the payload's length XOR 0xcbf29ce484222325, so zeros appended are not the same
// payload. Each step is a bijection of the state for any word, and of the word for any state, so
// damage confined to one 8-byte word always changes the sum; other damage escapes it by chance,
// 2^-64. test/cli/code-cache.test.ts checks it against the same sum in JavaScript.
const SUM_WASM = 'AGFzbQEAAAABBwFgAn9+AX4DAgEABQMBAAEHEAIGbWVtb3J5AgADc3VtAAAKgwEBgAEBAX8CQANAIAIgAE8NASABIAIpAwCFQh2JQpX4qfqXt96bnn9+IQEgASACKQMIhUIdiUKV+Kn6l7fem55/fiEBIAEgAikDEIVCHYlClfip+pe33puef34hASABIAIpAxiFQh2JQpX4qfqXt96bnn9+IQEgAkEgaiECDAALCyABCw==';
const SEED = 0xcbf29ce484222325n;
// The payload goes through this much of the module's one page at a time (a multiple of 32): a
// fresh page costs a fault of its own here, more on these VMs when their host has taken it back,
// and copying the whole 0.46 MB main.cache in touched ~110 of them on every start.
const WINDOW = 16384;

/**
 * The checksum of `data` as sixteen hex digits: its bytes, zero-padded to a multiple of 32, as
 * little-endian 64-bit words through SUM_WASM. '' where that cannot run: without WebAssembly
 * (node --jitless), or without the memory for it (ulimit -v); the cache is then not used.
 */
function payloadSum(data) {
  if (typeof WebAssembly !== 'object') return '';
  try {
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(SUM_WASM, 'base64')));
    const window = new Uint8Array(exports.memory.buffer, 0, WINDOW);
    let h = SEED ^ BigInt(data.length);
    for (let at = 0; at < data.length; at += WINDOW) {
      const part = data.subarray(at, at + WINDOW);
      const end = Math.ceil(part.length / 32) * 32;
      window.set(part);
      window.fill(0, part.length, end);
      h = exports.sum(end, h);
    }
    return BigInt.asUintN(64, h).toString(16).padStart(16, '0');
  } catch {
    return '';
  }
}

/** The first line of a cache file: the bundle's build id and the payload's checksum. */
function cacheHead(id, payload) {
  const sum = payloadSum(payload);
  // A cache made where the sum cannot run would never be used: refuse to make it.
  if (!sum) throw new Error(`the code cache's checksum could not be computed (expected 16 hex digits, got ''): is WebAssembly turned off (node --jitless)?`);
  return `${id} ${sum}\n`;
}

/** The V8 data in `cacheFile` when its first line names `id` and sums up the rest. */
function cacheFor(cacheFile, id) {
  let cache;
  try {
    cache = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const lineEnd = cache.indexOf(0x0a);
  if (!id || lineEnd < 0 || cache.toString('latin1', 0, id.length + 1) !== `${id} `) return undefined;
  const payload = cache.subarray(lineEnd + 1);
  const sum = payloadSum(payload);
  return sum && cache.toString('latin1', id.length + 1, lineEnd) === sum ? payload : undefined;
}

/** The bundle's exports, and the compiled script (scripts/bundle-cli.mjs makes the cache from it). */
function loadBundle(file, cacheFile) {
  // The bundle is ASCII (the bundle step checks): read as latin1, V8 gets it without UTF-8 decoding.
  const source = readFileSync(file, 'latin1');
  const id = buildId(source);
  const script = new vm.Script(source, { filename: file, cachedData: cacheFor(cacheFile, id) });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file), (specifier) => import(specifier));
  return { exports: module.exports, script, id };
}

module.exports = { loadBundle, cacheHead, payloadSum, ID_MARK, WRAPPER };
