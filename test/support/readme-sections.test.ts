// The README's generated sections equal what the code generates (npm run readme rewrites them),
// and the exit-code table is the one the CLI uses.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { README, readmeSections, sectionOf } from '../../support/readme-sections.js';
import { EXIT, exitCodesEpilogue } from '../../support/exit-codes.js';
import { cli } from '../helpers/cli.js';

const readme = await readFile(README, 'utf8');

for (const [name, body] of Object.entries(readmeSections())) {
  test(`README section ${name} is what the code generates (npm run readme)`, () => {
    assert.is(sectionOf(readme, name), body);
  });
}

test('exit codes are distinct and each is in the README table', () => {
  const codes = Object.values(EXIT);
  assert.is(new Set(codes).size, codes.length);
  for (const c of codes) assert.match(sectionOf(readme, 'exit-codes') ?? '', new RegExp(`^\\| ${c} \\|`, 'm'));
});

test('bankforge --help ends with every exit code; flash --help with its own', async () => {
  const all = await cli(['--help']);
  assert.is(all.exitCode, 0);
  assert.ok(all.stdout.replace(/\n/g, '').includes(exitCodesEpilogue()), all.stdout);
  const flash = await cli(['flash', '--help']);
  const text = flash.stdout.replace(/\n/g, '');
  for (const c of [EXIT.usage, EXIT.input, EXIT.refused, EXIT.failed, EXIT.interrupted]) assert.match(text, new RegExp(`\\b${c} `));
  assert.not.match(text, /\b5 --timeout/);
});

test('a usage error exits with the table\'s usage code', async () => {
  const r = await cli(['no-such-command']);
  assert.is(r.exitCode, EXIT.usage, r.stderr);
});

test.run();
