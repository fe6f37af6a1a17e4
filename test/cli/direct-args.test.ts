// cli/direct-args.ts reads `status TARGET [--json]` (and rollback's, mark-good's) without yargs: the
// object it makes must be the one yargs makes of the same line, and every other line must still
// go to yargs, whose errors and readings differ from a naive split. The launcher runs the direct
// lines' bundle for exactly those lines: the bundle's runs(), and cli/launch.ts, say which.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { directArgs, DIRECT_NAMES } from '../../cli/direct-args.js';
import { DIRECT_COMMANDS, runs } from '../../cli/direct.js';
import { launch } from '../../cli/launch.js';
import { parseWithYargs } from '../../cli/main.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../helpers/tools.js';

const read: string[][] = [];
for (const name of ['status', 'rollback', 'mark-good']) {
  for (const target of ['esxi.img', '/dev/sdb', 'a b.img', '1e5', '0x10', 'true', 'x.img=1', 'é.img']) {
    read.push([name, target], [name, target, '--json']);
  }
}
for (const argv of read) {
  test(`${JSON.stringify(argv)}: what yargs makes of it`, async () => {
    const direct = directArgs(argv);
    assert.ok(direct, 'read without yargs');
    const yargs = await parseWithYargs(argv);
    assert.equal(direct, yargs.args);
    assert.is(yargs.help, '', 'yargs would print help for this line');
    assert.equal(launch(argv), { bundle: 'direct' });
    assert.ok(runs(argv), 'the direct bundle runs it');
  });
}

// Lines yargs reads otherwise, or refuses with its own message, or that mean another command.
const declined: string[][] = [
  ['status'], ['status', ''], ['status', 'a', 'b'], ['status', '--json', '--json', 'a'], ['status', 'a', '--json', '--json'],
  // yargs reads the first as status of a, and takes `true` in the second as --json's value (and
  // then has no target): before the target, --json is left to yargs.
  ['status', '--json', 'a'], ['status', '--json', 'true'],
  ['status', 'a', '--json=true'], ['status', 'a', '--no-json'], ['status', 'a', '-q'], ['status', 'a', '--debug'],
  ['status', 'help'], ['rollback', 'help', '--json'], ['mark-good', 'help'],
  ['status', '--', 'a'], ['status', '-', 'a'], ['status', '--help'], ['status', 'a', '--bogus'],
  ['inspect', 'a'], ['coredump', 'a'], ['config', 'a', 'get'], ['--json', 'status', 'a'], [],
];
for (const argv of declined) {
  test(`${JSON.stringify(argv)}: left to yargs`, () => {
    assert.is(directArgs(argv), undefined);
    assert.equal(launch(argv), { bundle: 'main' });
    assert.not.ok(runs(argv), 'the direct bundle hands it back');
  });
}

test('a line that starts with build loads the whole CLI with the build\'s own code cache, whichever parser reads it', () => {
  for (const argv of [['build', '--out', 'x.img'], ['build', '-q', '--out', 'x.img', '--sector-size', '4096'], ['build', '--help']]) {
    assert.equal(launch(argv), { bundle: 'main', cache: 'main-build' }, argv.join(' '));
  }
  // A global option before the command: the generic cache, which runs it as well.
  assert.equal(launch(['--quiet', 'build', '--out', 'x.img']), { bundle: 'main' });
});

test('every direct line has its command in the direct bundle', () => {
  assert.equal(Object.keys(DIRECT_COMMANDS).sort(), [...DIRECT_NAMES].sort());
});

test('the launcher loads the direct bundle first for the same command names', async () => {
  // bin/bankforge.js cannot import the TypeScript; a name missing there only costs that command
  // launch.cjs' load, one extra costs its other lines the direct bundle's, so the lists are held equal.
  const bin = await readFile(join(repoRoot, 'bin', 'bankforge.js'), 'utf8');
  const list = /^const DIRECT_NAMES = (\[[^\]]*\]);$/m.exec(bin);
  assert.ok(list, 'bin/bankforge.js names the direct commands in one line');
  assert.equal(JSON.parse(list[1]!.replace(/'/g, '"')), [...DIRECT_NAMES]);
});

test.run();
