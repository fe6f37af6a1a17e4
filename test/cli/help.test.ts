// `bankforge --help` is printed from the text the bundle step saved (cli/static-help.ts) instead of
// by yargs: it must be byte for byte what yargs prints for the command definitions in cli/main.ts,
// in every locale the saved text is used for, and yargs must still print it where it is not.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BIN } from '../helpers/cli.js';
import { repoRoot } from '../helpers/tools.js';
import { ENGLISH_LOCALES } from '../../cli/static-help.js';

const BUNDLE = join(repoRoot, 'dist', 'cli-bundle');
const COMPILED_MAIN = join(repoRoot, 'dist', 'cli', 'main.js');
const LOCALE_VARS = ['LC_ALL', 'LC_MESSAGES', 'LANG', 'LANGUAGE'];

/** The environment with only `set` among the variables yargs reads a locale from. */
function localeEnv(set: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const v of LOCALE_VARS) delete env[v];
  return { ...env, ...set };
}

async function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ exitCode: number; stdout: string }> {
  const r = await execa(process.execPath, args, { env, extendEnv: false, reject: false, stripFinalNewline: false, encoding: 'utf8' });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout };
}

/** What yargs prints: the modules tsc compiled have no help.txt beside them, so yargs runs. */
const yargsHelp = (env: NodeJS.ProcessEnv) =>
  run(['--input-type=module', '-e', `await (await import(${JSON.stringify(pathToFileURL(COMPILED_MAIN).href)})).main(['--help']);`], env);

const saved = await readFile(join(BUNDLE, 'help.txt'), 'utf8');

test('the launcher runs the bundle, which the saved help belongs to', async () => {
  assert.ok((await stat(join(BUNDLE, 'main.cjs'))).mtimeMs >= (await stat(COMPILED_MAIN)).mtimeMs, 'run npm run build: the bundle is older than tsc\'s output');
});

const cases: [string, Record<string, string>][] = [
  ['no locale set', {}],
  ...ENGLISH_LOCALES.map((l): [string, Record<string, string>] => [`LC_ALL=${l}.UTF-8`, { LC_ALL: `${l}.UTF-8` }]),
  ['LANG=en_US.UTF-8', { LANG: 'en_US.UTF-8' }],
  ['LANGUAGE=en', { LANGUAGE: 'en' }],
];
for (const [name, vars] of cases) {
  test(`--help and -h with ${name}: the saved text is what yargs prints`, async () => {
    const env = localeEnv(vars);
    const fromYargs = await yargsHelp(env);
    assert.is(fromYargs.exitCode, 0);
    assert.fixture(saved, fromYargs.stdout);
    for (const flag of ['--help', '-h']) {
      const r = await run([BIN, flag], env);
      assert.is(r.exitCode, 0);
      assert.fixture(r.stdout, fromYargs.stdout);
    }
  });
}

test('in a locale yargs translates, yargs prints the help', async () => {
  const env = localeEnv({ LC_ALL: 'de_DE.UTF-8' });
  const r = await run([BIN, '--help'], env);
  assert.is(r.exitCode, 0);
  assert.match(r.stdout, /^Optionen:$/m);
  assert.fixture(r.stdout, (await yargsHelp(env)).stdout);
});

test('help with anything else on the line is yargs\' (a command\'s own help)', async () => {
  const r = await run([BIN, 'status', '--help'], localeEnv({}));
  assert.is(r.exitCode, 0);
  assert.match(r.stdout, /^bankforge status <target>/);
});

test.run();
