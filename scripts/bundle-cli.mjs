// Bundles the compiled CLI (dist/cli/main.js, after tsc) into dist/cli-bundle/ with esbuild, so that
// `bankforge` starts by reading a handful of files instead of resolving, reading and compiling a
// hundred modules (docs/architecture.md, "How the CLI starts"). Each command stays a chunk of its
// own, loaded only when it runs; code two commands share goes into shared chunks.
//
// What stays outside the bundle, resolved from node_modules at run time as before:
// - execa: only commands that run tools load it, and it is ESM that finds its own files;
// - fatfs: partitions/fat/fatfs-binding.ts requires it through createRequire on first mount.
// yargs is bundled, but its ESM shim names its own location through import.meta.url to find the
// locales y18n translates --help with (and the package.json yargs reads settings from); in a
// bundle that URL is the bundle's, so the plugin below hands the shim yargs' real location.
//
// Beside the bundle goes help.txt: what yargs prints for `bankforge --help`, which cli/static-help.ts
// prints instead of loading yargs (test/cli/help.test.ts checks that the two agree).
//
// The bundle sits two levels under the package root, as the compiled modules do, so that
// support/package-info.ts finds package.json from import.meta.url.
// Run: node scripts/bundle-cli.mjs (npm run build, scripts/setup.sh and scripts/prepack.sh do).

import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
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
      const prologue = `import { createRequire as __bankforgeRequire } from 'node:module';\n` +
        `import { pathToFileURL as __bankforgeFileUrl } from 'node:url';\n` +
        `const ${where} = new URL('lib/platform-shims/esm.mjs', __bankforgeFileUrl(__bankforgeRequire(import.meta.url).resolve('yargs/package.json'))).href;\n`;
      return { contents: prologue + text.replace('fileURLToPath(import.meta.url)', `fileURLToPath(${where})`), loader: 'js' };
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

await rm(out, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: [{ in: 'dist/cli/main.js', out: 'main' }],
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['execa'],
  chunkNames: 'chunk-[hash]',
  plugins: [yargsShimLocation, lazyAssert],
  logLevel: 'warning',
});

// Run as a user would get it: English (C locale), not a terminal (so wrapped at the full width).
const helpRun = spawnSync(process.execPath, ['--input-type=module', '-e', `await (await import(${JSON.stringify(pathToFileURL(join(root, 'dist', 'cli', 'main.js')).href)})).main(['--help']);`], {
  env: { ...process.env, LC_ALL: 'C' },
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
});
if (helpRun.status !== 0 || !helpRun.stdout) throw new Error(`bankforge --help exited ${helpRun.status} with ${helpRun.stdout.length} bytes of output`);
await writeFile(join(out, 'help.txt'), helpRun.stdout);
