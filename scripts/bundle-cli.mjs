// Bundles the compiled CLI (dist/cli/main.js, after tsc) into one CommonJS file with esbuild,
// dist/cli-bundle/main.cjs, and makes V8's code cache for it, main.cache (and main-build.cache,
// for build lines), so that `bankforge` starts by reading two files and compiling almost nothing;
// the same for the lines read without yargs (cli/direct-args.ts: `status TARGET` and the like),
// direct.cjs and direct.cache, from dist/cli/direct.js (docs/architecture.md, "How the CLI
// starts"; bin/load-bundle.js loads them). CommonJS because Node 20 can use a code cache only for
// a script, and sets up its ES module loader, with a facade per builtin, only for ES modules. A
// command's modules still run only when the command does (esbuild defers a module reached through
// import() until then); there are no chunks, since esbuild splits only ES module output.
//
// What stays outside the bundle, resolved from node_modules at run time as before:
// - execa: only commands that run tools load it, with import(), since it is ESM and finds its own files;
// - fatfs: partitions/fat/fatfs-binding.ts requires it through createRequire on first mount;
// - crc-32: partitions/crc32.ts requires it the same way, only where WebAssembly cannot run.
// import.meta.url, which support/package-info.ts, fatfs-binding.ts and crc32.ts use, becomes the bundle's
// own URL. yargs is bundled, but its ESM shim names its own location through import.meta.url to
// find the locales y18n translates --help with (and the package.json yargs reads settings from); in
// a bundle that URL is the bundle's, so the plugin below hands the shim yargs' real location.
//
// Beside the bundles go help.txt, what yargs prints for `bankforge --help`, which cli/static-help.ts
// prints instead of loading yargs (test/cli/help.test.ts checks that the two agree), and
// launch.cjs (cli/launch.ts), which the launcher asks which of the three to use.
//
// A cache holds what V8 compiled while its bundle ran a few commands (below): those commands'
// modules and readers, and for main.cache and main-build.cache yargs and the command table; the
// rest compiles on first use as without a cache.
// It is made by the Node that runs this script; another Node version refuses it, and the bundle
// is then compiled from source. Its first line is the build id the bundle ends with and a checksum
// of the rest (bin/load-bundle.js, payloadSum).
//
// The bundles sit two levels under the package root, as the compiled modules do, so that
// support/package-info.ts finds package.json from import.meta.url.
// Run: node scripts/bundle-cli.mjs (npm run build, scripts/setup.sh and scripts/prepack.sh do).

import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, ftruncateSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'cli-bundle');

const yargsShimLocation = {
  name: 'yargs-shim-location',
  setup(b) {
    b.onLoad({ filter: /[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('fileURLToPath(import.meta.url)')) throw new Error(`${args.path}: yargs' shim no longer reads import.meta.url as expected; check the plugin`);
      const where = "__bankforgeYargsShim";
      // Where Node would find yargs from the bundle: the package's own node_modules when it is
      // there (a stat), else wherever resolution leads (a hoisted install); resolving costs ~5 ms.
      const prologue = `import { createRequire as __bankforgeRequire } from 'node:module';\n` +
        `import { existsSync as __bankforgeExists } from 'node:fs';\n` +
        `import { pathToFileURL as __bankforgeFileUrl } from 'node:url';\n` +
        `const __bankforgeOwnYargs = new URL('../../node_modules/yargs/package.json', import.meta.url);\n` +
        `const ${where} = new URL('lib/platform-shims/esm.mjs', __bankforgeExists(__bankforgeOwnYargs) ? __bankforgeOwnYargs : __bankforgeFileUrl(__bankforgeRequire(import.meta.url).resolve('yargs/package.json'))).href;\n`;
      // The shim reads process.stdout.columns when it loads, which makes process.stdout: on a pipe
      // a socket stream that sets O_NONBLOCK on it (cli/stdout.ts then waits on it a millisecond at
      // a time) and costs milliseconds to make. cli/main.ts gives yargs its width itself
      // (terminalColumns), so the shim's reading becomes a getter that runs only if yargs asks.
      const columns = 'stdColumns: typeof process.stdout.columns !== \'undefined\' ? process.stdout.columns : null';
      if (!text.includes(columns)) throw new Error(`${args.path}: yargs' shim no longer reads process.stdout.columns as expected; check the plugin`);
      const lazy = text.replace(columns, `get stdColumns() { return typeof process.stdout.columns !== 'undefined' ? process.stdout.columns : null; }`);
      return { contents: prologue + lazy.replace('fileURLToPath(import.meta.url)', `fileURLToPath(${where})`), loader: 'js' };
    });
  },
};

// yargs checks its own invariants with node:assert's strictEqual and notStrictEqual; loading
// node:assert (and the error and colour modules it pulls in) costs a start-up more than all of
// yargs' parsing. These do the same comparison (Object.is, as node:assert does) and load
// node:assert only to throw its own error when a check fails.
const lazyAssert = {
  name: 'lazy-assert',
  setup(b) {
    b.onResolve({ filter: /^(node:)?assert$/ }, (args) => (/[\\/]node_modules[\\/]yargs[\\/]/.test(args.importer) ? { path: 'assert', namespace: 'lazy-assert' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'lazy-assert' }, () => ({
      loader: 'js',
      contents: `import { createRequire } from 'node:module';
const real = () => createRequire(import.meta.url)('node:assert');
export const strictEqual = (a, b, message) => { if (!Object.is(a, b)) real().strictEqual(a, b, message); };
export const notStrictEqual = (a, b, message) => { if (Object.is(a, b)) real().notStrictEqual(a, b, message); };
`,
    }));
  },
};

// After running a command's handler, yargs lays out that command's full help (cacheHelpMessage)
// in case the handler shows it once parsing is over: the largest piece of yargs' work on a run of
// `status`. cli/main.ts gives yargs no handlers (yargs puts a no-op in their place) and runs the
// command itself after parsing, so nothing can ask for that help: the bundle's yargs skips it.
const noHelpCache = {
  name: 'no-help-cache',
  setup(b) {
    b.onLoad({ filter: /[\\/]yargs[\\/]build[\\/]lib[\\/]command\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const call = /\n\s*if \(!isDefaultCommand\) \{\n\s*yargs\.getInternalMethods\(\)\.getUsageInstance\(\)\.cacheHelpMessage\(\);\n\s*\}/;
      if (!call.test(text)) throw new Error(`${args.path}: yargs no longer caches the help after a handler as expected; check the plugin`);
      return { contents: text.replace(call, ''), loader: 'js' };
    });
  },
};

const { ID_MARK, WRAPPER } = createRequire(import.meta.url)('../bin/load-bundle.js');

const bundleOf = (entry, outfile, plugins) => build({
  absWorkingDir: root,
  entryPoints: [entry],
  outfile,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['execa'],
  // Whitespace and syntax only: every start reads, and V8 checks, the whole file (481 KB against
  // 649 KB; status 1.43x -> 1.39x node -e 0). Names stay, so a stack trace still says which function.
  minifyWhitespace: true,
  minifySyntax: true,
  // Made when first read: pathToFileURL's first call costs ~0.5 ms, and status never reads it.
  define: { 'import.meta.url': '__bankforgeMeta.url' },
  banner: { js: "const __bankforgeMeta = { get url() { return require('node:url').pathToFileURL(__filename).href; } };" },
  plugins,
  logLevel: 'warning',
  write: false,
});

/**
 * Bundles `entry` as NAME.cjs, written as the function load-bundle.js compiles with vm. vm's
 * import() needs an experimental flag, so load-bundle.js' own import() does the bundle's (only of
 * string literals: execa, node:child_process); the file holds that function as vm compiles it, with
 * no second copy of the source to make.
 */
async function writeBundle(entry, name, plugins) {
  const file = join(out, `${name}.cjs`);
  const built = await bundleOf(entry, file, plugins);
  const code = built.outputFiles[0].text.replace(/\bimport\((["'][\w:/.-]+["'])\)/g, `${WRAPPER.importName}($1)`);
  if (/\bimport\s*\(/.test(code)) throw new Error(`${file}: an import() of something other than a string literal is left; load-bundle.js cannot run it`);
  // esbuild writes non-ASCII characters as escapes; load-bundle.js relies on that to read it as latin1.
  if (/[^\x00-\x7f]/.test(code)) throw new Error(`${file}: not ASCII; load-bundle.js reads it as latin1`);
  const wrapped = `${WRAPPER.head}${code}${WRAPPER.tail}`;
  await writeFile(file, `${wrapped}${ID_MARK}${createHash('sha256').update(wrapped).digest('hex').slice(0, 32)}\n`);
  return file;
}

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
// The launcher decides through this alone, without loading the CLI, whether to print the saved
// help or which of the two bundles to load.
await writeFile(join(out, 'launch.cjs'), (await bundleOf('dist/cli/launch.js', join(out, 'launch.cjs'), [])).outputFiles[0].text);
const bundles = {
  main: await writeBundle('dist/cli/main.js', 'main', [yargsShimLocation, lazyAssert, noHelpCache]),
  // The direct lines (cli/direct-args.ts): no yargs, and a cache with only what status runs.
  direct: await writeBundle('dist/cli/direct.js', 'direct', []),
};

// Run as a user would get it: English (C locale), not a terminal (so wrapped at the full width).
const helpRun = spawnSync(process.execPath, ['--input-type=module', '-e', `await (await import(${JSON.stringify(pathToFileURL(join(root, 'dist', 'cli', 'main.js')).href)})).main(['--help']);`], {
  env: { ...process.env, LC_ALL: 'C' },
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
});
if (helpRun.status !== 0 || !helpRun.stdout) throw new Error(`bankforge --help exited ${helpRun.status} with ${helpRun.stdout.length} bytes of output`);
await writeFile(join(out, 'help.txt'), helpRun.stdout);

// The commands run for the cache: status on a small image made here (two banks with state records
// and an empty core-dump partition), so that its GPT, bank-state and core-dump readers are in the
// cache too, and status and inspect on a target that does not exist (the error path).
const dist = (rel) => import(pathToFileURL(join(root, 'dist', rel)).href);
const { writeGpt } = await dist('partitions/gpt.js');
const { Bank, BootState, encodeState, newState, slotOffsets } = await dist('partitions/bankstate.js');
const { GPT_TYPE_ALIASES } = await dist('partitions/gpt-types.js');
const image = join(out, 'cache-run.img');
const SECTOR = 512;
const parts = [['bootbank', 'basic-data', 2048], ['altbootbank', 'basic-data', 4096], ['vmkDiagnostic', 'vmkdiagnostic', 6144]].map(([name, type, firstLba], index) => (
  { index, typeGuid: GPT_TYPE_ALIASES[type], guid: `00000000-0000-4000-8000-00000000000${index + 1}`, firstLba, lastLba: firstLba + 2047, attributes: 0n, name }));
const fd = openSync(image, 'wx');
try {
  ftruncateSync(fd, 16 * 1024 * 1024);
  for (const e of writeGpt({ sectorSize: SECTOR, sectorCount: (16 * 1024 * 1024) / SECTOR, diskGuid: '00000000-0000-4000-8000-000000000000', partitions: parts })) writeSync(fd, e.data, 0, e.data.length, e.offset);
  for (const bank of [Bank.A, Bank.B]) {
    const p = parts[bank];
    const record = encodeState(newState({ bank, bootstate: BootState.Valid, updated: 1, version: '1.0.0' }));
    for (const o of slotOffsets((p.lastLba - p.firstLba + 1) * SECTOR)) writeSync(fd, record, 0, record.length, p.firstLba * SECTOR + o);
  }
} finally {
  closeSync(fd);
}
const missing = join(out, 'no-such-image');

// A build's own cache (main-build.cache, which the launcher takes for lines that start with
// `build`): what a build compiles, and none of the other commands' code. The generic cache with a
// build added was no faster (565 KB against 469); this one made the 20 MB bench build ~5-6 ms
// sooner (docs/performance.md, thirteenth session). The pipeline's kernel may not be compiled
// yet when this runs, so the build is of the seed layout with banks made here: a boot.cfg, a
// stand-in kernel and module, and their SHA256SUMS, which is all the build checks of a bank.
// Once read by cli/fast-args.ts and once by yargs (a short option, a number), so that a build
// line of either kind finds its parser in the cache, and `build --help` (without it in the cache,
// 55.7 -> 64.1 ms).
const { writeSums } = await dist('partitions/bank-files.js');
const { bootCfg, KERNEL_FILE, BASE_MODULE } = await dist('builder/pipeline/bank.js');
const { manifestPathFor } = await dist('builder/manifest.js');
const warm = join(out, 'cache-build');
const buildRuns = [join(warm, 'one.img'), join(warm, 'two.img')];
async function writeBuildInputs() {
  for (const d of ['bank', 'efi/EFI/BOOT', 'store/sub']) await mkdir(join(warm, d), { recursive: true });
  // The pipeline's boot.cfg, which names KERNEL_FILE and BASE_MODULE, over stand-ins for both.
  const files = [['boot.cfg', bootCfg({ version: '1.0.0', updated: 1, timeout: 3, kernelopt: '' })], [KERNEL_FILE, Buffer.alloc(4096, 1)], [BASE_MODULE, Buffer.alloc(1024)]];
  for (const [name, data] of [...files, ['SHA256SUMS', writeSums(files)]]) await writeFile(join(warm, 'bank', name), data);
  await writeFile(join(warm, 'efi', 'EFI', 'BOOT', 'BOOTX64.EFI'), Buffer.alloc(2048, 1));
  await writeFile(join(warm, 'store', 'notes.txt'), 'cache\n');
  // More than one copy chunk (1 MiB), so that the copy's loop runs as it does for real content.
  await writeFile(join(warm, 'store', 'sub', 'data.bin'), Buffer.alloc(1536 * 1024, 3));
  const layout = JSON.parse(await readFile(join(root, 'layouts', 'esxi.json'), 'utf8'));
  delete layout.$schema;
  const dirs = { bootloader: 'efi', store: 'store' };
  let filled = 0;
  for (const p of layout.partitions) {
    const dir = p.bank ? 'bank' : Object.hasOwn(dirs, p.name) ? dirs[p.name] : undefined;
    if (dir) { p.contents = [{ dir: join(warm, dir) }]; filled++; }
  }
  // Nothing of the pipeline's may be left: it would compile the loader or the kernel, into the
  // user's compile cache, or fail for want of a compiler.
  const pipeline = layout.linux || layout.host || layout.partitions.some((p) => p.contents?.some((c) => Object.hasOwn(c, 'artifact')));
  if (filled !== 4 || pipeline) throw new Error('layouts/esxi.json no longer has the partitions the build cache\'s run fills (a bootloader, two banks, a store) and nothing else the pipeline makes; update scripts/bundle-cli.mjs');
  await writeFile(join(warm, 'layout.json'), JSON.stringify(layout));
}

/**
 * Runs `argvs` through NAME.cjs loaded from source, and writes what V8 compiled as CACHE.cache;
 * `check` says what is wrong with the run (its stdout), '' when nothing is: then nothing is written.
 */
function makeCache(name, cache, argvs, check) {
  const cacheFile = join(out, `${cache}.cache`);
  const produce = `
const { loadBundle, cacheHead } = require(${JSON.stringify(join(root, 'bin', 'load-bundle.js'))});
const { exports, script, id } = loadBundle(${JSON.stringify(bundles[name])}, '');
(async () => {
  for (const argv of ${JSON.stringify(argvs)}) await exports.main(argv);
  const payload = script.createCachedData();
  require('node:fs').writeFileSync(${JSON.stringify(`${cacheFile}.tmp`)}, Buffer.concat([Buffer.from(cacheHead(id, payload), 'latin1'), payload]));
  process.exit(0);
})();`;
  // Without SOURCE_DATE_EPOCH, which a build checks first (and refuses when it is not one it can
  // record), and with a compile cache of its own, which nothing here should need.
  const env = { ...process.env, BANKFORGE_CACHE: join(warm, 'compile-cache'), LC_ALL: 'C' };
  delete env.SOURCE_DATE_EPOCH;
  const cacheRun = spawnSync(process.execPath, ['-e', produce], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    if (cacheRun.status !== 0) throw new Error(`making ${cache}.cache for ${name}.cjs failed (exit ${cacheRun.status}): ${cacheRun.stderr}`);
    const wrong = check(cacheRun.stdout);
    if (wrong) throw new Error(`making ${cache}.cache for ${name}.cjs: ${wrong}: ${cacheRun.stdout}${cacheRun.stderr}`);
  } catch (e) {
    rmSync(`${cacheFile}.tmp`, { force: true });
    throw e;
  }
  renameSync(`${cacheFile}.tmp`, cacheFile);
}
const statusSaid = (stdout) => (stdout.startsWith('next boot: bank A (1.0.0)') ? '' : 'status of the image made for it said otherwise');
const built = () => (buildRuns.every((img) => existsSync(img) && existsSync(manifestPathFor(img))) ? '' : 'a build did not write its image and manifest');
// The direct lines run in main.cjs too (through cli/direct.ts); `status --quiet` is one
// cli/fast-args.ts reads, `status -q` one yargs parses: with yargs' code in the cache (394 KB
// instead of 234 KB), a line yargs reads (an alias, a number, --format's list) starts ~10 ms
// sooner (`inspect IMG -q`), and the others no measurably later (`inspect IMG --json`: 14 ms
// sooner than through yargs either way; medians of 40).
try {
  await writeBuildInputs();
  const layoutFile = join(warm, 'layout.json');
  makeCache('direct', 'direct', [['status', image], ['status', missing]], statusSaid);
  // flash and build on what does not exist: their modules' set-up (a few ms of every flash) is
  // in the cache too, and nothing is written.
  makeCache('main', 'main', [['status', image, '--quiet'], ['status', image, '-q'], ['status', missing], ['inspect', missing],
    ['flash', missing, missing, '--yes', '--quiet'], ['build', '--quiet', '--layout', missing, '--out', `${missing}.img`]], statusSaid);
  makeCache('main', 'main-build', [['build', '--quiet', '--layout', layoutFile, '--out', buildRuns[0]],
    ['build', '-q', '--layout', layoutFile, '--out', buildRuns[1], '--sector-size', '512'], ['build', '--help']], built);
} finally {
  await rm(image, { force: true });
  await rm(warm, { recursive: true, force: true });
}
