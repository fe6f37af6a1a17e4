// bin/bankforge.js executed as a user's shell does: its first lines start Node through sh without
// NODE_EXTRA_CA_CERTS (a file Node 20 parses at every start, which bankforge never needs), and the
// command still runs, with its arguments as given, also through a symlink (npm's global bin) and
// as `sh FILE` (pnpm's wrappers). A module preloaded with NODE_OPTIONS reports, from inside the
// Node that runs, what that Node's environment holds. And the command's output reaches its reader
// whole and in order, or the exit code says it did not (docs/cli.md, "Output").

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { copyFile, mkdir, open, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BIN } from '../helpers/cli.js';
import { buildQuiet } from '../helpers/images.js';
import { repoRoot, scratch } from '../helpers/tools.js';
import { toolVersion } from '../../support/package-info.js';
import { EXIT } from '../../support/exit-codes.js';

const { dir, cleanup } = await scratch('bankforge-launcher-');
const probe = join(dir, 'probe.cjs');
await writeFile(probe, "require('node:fs').writeSync(2, `probe: ${JSON.stringify(process.env.NODE_EXTRA_CA_CERTS ?? null)}\\n`);\n");
const certs = join(dir, 'no-such-bundle.pem');
const env = { NODE_EXTRA_CA_CERTS: certs, NODE_OPTIONS: `--require ${probe}` };

test('the probe sees NODE_EXTRA_CA_CERTS in plain node (the oracle works)', async () => {
  const r = await execa(process.execPath, ['-e', '0'], { env, reject: false, encoding: 'utf8' });
  assert.is(r.exitCode, 0, r.stderr);
  assert.match(r.stderr, `probe: ${JSON.stringify(certs)}`);
});

test('the bankforge command starts Node without it, and runs: executed, through a symlink, and as sh FILE', async () => {
  const link = join(dir, 'bankforge');
  await symlink(BIN, link);
  for (const [cmd, args] of [[BIN, []], [link, []], ['sh', [BIN]]] as const) {
    const r = await execa(cmd, [...args, '--version'], { env, reject: false, encoding: 'utf8' });
    assert.is(r.exitCode, 0, r.stderr);
    assert.is(r.stdout, toolVersion(), cmd);
    // Nothing else on stderr: Node 20 warns there about a certificate file it cannot read.
    assert.is(r.stderr, 'probe: null', cmd);
  }
  const spaced = await execa(BIN, ['status', join(dir, 'no such image.img')], { env, reject: false, encoding: 'utf8' });
  assert.match(spaced.stderr, `no such image.img`, 'an argument with spaces arrives whole');
});

// 1500 files in the store make `inspect` about 74 KB and `inspect --json` about 200 KB, more
// than a pipe holds.
const files = join(dir, 'store', 'many');
await mkdir(files, { recursive: true });
for (let i = 0; i < 1500; i++) await writeFile(join(files, `file-with-a-long-name-${i}.txt`), `${i}\n`);
const layout = JSON.parse(await readFile(join(repoRoot, 'layouts', 'small.json'), 'utf8')) as { partitions: { name: string; contents?: unknown[] }[] };
delete (layout as Record<string, unknown>)['$schema'];
layout.partitions.find((p) => p.name === 'store')!.contents = [{ dir: join(dir, 'store') }];
await writeFile(join(dir, 'many.json'), JSON.stringify(layout));
const image = join(dir, 'many.img');
await buildQuiet({ layout: join(dir, 'many.json'), out: image, version: '1.0.0' });
const whole = (await execa(BIN, ['inspect', image, '--json'], { encoding: 'utf8' })).stdout;

/** `bash -c SCRIPT` with $0 the launcher and $1.. `args`; pipefail, so the exit code is bankforge's. */
const bash = (script: string, ...args: string[]) =>
  execa('bash', ['-c', `set -o pipefail; ${script}`, BIN, ...args], { encoding: 'utf8', reject: false });

test('output larger than a pipe holds reaches a reader that starts late, whole', async () => {
  assert.ok(whole.length > 100_000, `${whole.length} bytes: not more than a pipe holds`);
  // The reader sleeps first: the command is done long before the pipe has room for the rest.
  const late = await bash('"$0" inspect "$1" --json | (sleep 1; cat)', image);
  assert.is(late.exitCode, 0, late.stderr);
  assert.is(late.stdout.length, whole.length);
  assert.ok(late.stdout === whole);
  // A reader that leaves early (EPIPE): the command ends quietly, exit 0.
  const gone = await bash('"$0" inspect "$1" --json | (sleep 0.5; head -c 10 >/dev/null)', image);
  assert.is(gone.stderr, '');
  assert.is(gone.exitCode, 0);
});

test('help, with -- or as a word, is printed whole with exit 0', async () => {
  const help = (await execa(BIN, ['--help'], { encoding: 'utf8' })).stdout;
  for (const line of [['--help', '--'], ['help'], ['help', '--'], ['--help', '--', 'status']]) {
    const r = await execa(BIN, line, { encoding: 'utf8', reject: false });
    assert.is(r.exitCode, 0, `${line.join(' ')}: ${r.stderr}`);
    assert.is(r.stdout, help, line.join(' '));
  }
});

test('a yargs command leaves a pipe on stdout blocking (it does not make process.stdout)', async () => {
  // process.stdout on a pipe is a socket stream that sets O_NONBLOCK on the pipe, which printOut
  // then waits on a millisecond at a time. The flags of fd 1 as the command sees them, read from
  // /proc while it waits for the reader.
  const r = await bash('"$0" inspect "$1" --json | (sleep 1; cat > /dev/null) & sleep 0.5; p=$(pgrep -f -- "inspect $1 --json" | head -1); grep flags /proc/$p/fdinfo/1; wait', image);
  const flags = /flags:\s+([0-7]+)/.exec(r.stdout);
  assert.ok(flags, r.stdout + r.stderr);
  assert.is(Number.parseInt(flags[1]!, 8) & 0o4000, 0, `O_NONBLOCK set: ${flags[1]}`);
});

test('stdout that cannot be written: said on stderr, exit 9 in place of success; a failure keeps its code', async () => {
  // A full disk (/dev/full), whether the output is a command's, the saved --help, or the help
  // yargs lays out for a command (all through cli/stdout.ts).
  for (const line of [['inspect', image, '--json'], ['status', image], ['--version'], ['--help'], ['status', '--help']]) {
    const full = await bash('"$0" "${@:1}" > /dev/full', ...line);
    assert.is(full.exitCode, EXIT.outputLost, `${line.join(' ')}: ${full.stderr}`);
    assert.match(full.stderr, /^bankforge: the output could not be written to stdout: ENOSPC/, line.join(' '));
  }
  // Room for part of it (a file-size limit of 8 KiB, or 1 KiB for yargs' 3 KB help of build):
  // Node's own stream for a file ignored the short write and exited 0 with the file cut short.
  const help = (await execa(BIN, ['build', '--help'], { encoding: 'utf8' })).stdout;
  const helpFile = join(dir, 'help.txt');
  const cutHelp = await bash('ulimit -f 1; "$0" build --help > "$1"', helpFile);
  assert.is(cutHelp.exitCode, EXIT.outputLost, cutHelp.stderr);
  assert.is(await readFile(helpFile, 'utf8'), `${help}\n`.slice(0, 1024));
  const limited = join(dir, 'limited.json');
  const cut = await bash('ulimit -f 8; "$0" inspect "$1" --json > "$2"', image, limited);
  assert.is(cut.exitCode, EXIT.outputLost, cut.stderr);
  assert.match(cut.stderr, /EFBIG/);
  assert.is((await readFile(limited, 'utf8')), whole.slice(0, 8192));
  // The command's own failure keeps its code: its JSON error could not be written either.
  const missing = await bash('"$0" status "$1" --json > /dev/full', join(dir, 'no-such.img'));
  assert.is(missing.exitCode, EXIT.input, missing.stderr);
  // A command that writes did its work: 9 says so, where 3 would say nothing was written.
  const copy = join(dir, 'rollback.img');
  await copyFile(image, copy);
  const rolled = await bash('"$0" rollback "$1" --json > /dev/full', copy);
  assert.is(rolled.exitCode, EXIT.outputLost, rolled.stderr);
  assert.match((await execa(BIN, ['status', copy], { encoding: 'utf8' })).stdout, /^next boot: bank B/);
});

test('stdout and stderr on one pipe: the warnings come after the report, not inside it', async () => {
  // The backup GPT header zeroed: inspect warns (exit 4), on stderr, after printing the report.
  const damaged = join(dir, 'damaged.img');
  await copyFile(image, damaged);
  const size = (await stat(damaged)).size;
  const fh = await open(damaged, 'r+');
  await fh.write(Buffer.alloc(512), 0, 512, size - 512);
  await fh.close();
  const report = (await execa(BIN, ['inspect', damaged], { encoding: 'utf8', reject: false })).stdout;
  assert.ok(report.length > 65536, `${report.length} bytes: not more than a pipe holds`);
  const both = await bash('"$0" inspect "$1" 2>&1 | (sleep 0.5; cat)', damaged);
  assert.is(both.exitCode, EXIT.warnings, both.stderr);
  assert.ok(both.stdout.startsWith(`${report}\nwarning: backup GPT header`), both.stdout.slice(report.length - 200, report.length + 200));
});

test('a build line loads main.cjs with the build\'s code cache, any other line with main.cache', async () => {
  // A preloaded probe says which code caches the launcher reads (bin/load-bundle.js reads them with readFileSync).
  const cacheProbe = join(dir, 'cache-probe.cjs');
  await writeFile(cacheProbe, `const fs = require('node:fs');
const read = fs.readFileSync;
fs.readFileSync = function (path, ...rest) {
  if (String(path).endsWith('.cache')) fs.writeSync(2, \`read: \${require('node:path').basename(String(path))}\\n\`);
  return read.call(this, path, ...rest);
};
`);
  const caches = async (args: string[]) => {
    const r = await execa(BIN, args, { env: { NODE_OPTIONS: `--require ${cacheProbe}` }, reject: false, encoding: 'utf8' });
    return r.stderr.split('\n').filter((l) => l.startsWith('read: '));
  };
  assert.equal(await caches(['build', '--help']), ['read: main-build.cache']);
  assert.equal(await caches(['inspect', join(dir, 'no-such.img')]), ['read: main.cache']);
  assert.equal(await caches(['status', join(dir, 'no-such.img')]), ['read: direct.cache']);
});

test.after(cleanup);
test.run();
