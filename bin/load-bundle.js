// Loads a CLI bundle (dist/cli-bundle/main.cjs or direct.cjs, scripts/bundle-cli.mjs) with the V8
// code cache made beside it at build time (main.cache, direct.cache): compiling the bundle and
// then yargs' and a command's functions as they first run is most of what a start-up costs beyond
// Node's own, and the cache hands V8 all of that compiled. Node 20 has no compile cache of its own
// for modules.
// The cache is used only when it is the one made for this bundle: its first line is the build id
// the bundle ends with (V8 itself checks the source's length, its own version and flags, and, told
// to, the payload's checksum, and drops a cache that fails those); without it the bundle compiles
// from source, as any script does.
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

/** The V8 data in `cacheFile` when its first line is `id`. */
function cacheFor(cacheFile, id) {
  let cache;
  try {
    cache = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const head = `${id}\n`;
  return id && cache.length > head.length && cache.toString('latin1', 0, head.length) === head ? cache.subarray(head.length) : undefined;
}

/** The bundle's exports, and the compiled script (scripts/bundle-cli.mjs makes the cache from it). */
function loadBundle(file, cacheFile) {
  // The bundle is ASCII (the bundle step checks): read as latin1, V8 gets it without UTF-8 decoding.
  const source = readFileSync(file, 'latin1');
  const id = buildId(source);
  // V8 in Node 20 checks a code cache's checksum only when told to; without it, a cache whose
  // payload is damaged (its header intact) is deserialized as it is, and the process crashes.
  // Set also where the cache is made (the bundle step loads the bundle through here): V8's flags
  // are part of what a cache must match.
  require('node:v8').setFlagsFromString('--verify-snapshot-checksum');
  const script = new vm.Script(source, { filename: file, cachedData: cacheFor(cacheFile, id) });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file), (specifier) => import(specifier));
  return { exports: module.exports, script, id };
}

module.exports = { loadBundle, ID_MARK, WRAPPER };
