// bin/bankforge.js executed as a user's shell does: its first lines start Node through sh without
// NODE_EXTRA_CA_CERTS (a file Node 20 parses at every start, which bankforge never needs), and the
// command still runs, with its arguments as given, also through a symlink (npm's global bin) and
// as `sh FILE` (pnpm's wrappers). A module preloaded with NODE_OPTIONS reports, from inside the
// Node that runs, what that Node's environment holds. And the launcher ends the process only once
// the command's output has left: a pipe takes 64 KiB at once and Node queues the rest.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BIN } from '../helpers/cli.js';
import { buildQuiet } from '../helpers/images.js';
import { repoRoot, scratch } from '../helpers/tools.js';
import { toolVersion } from '../../support/package-info.js';

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

test('output larger than a pipe holds reaches a reader that starts late, whole', async () => {
  // 900 files in the store make `inspect --json` about 120 KB.
  const files = join(dir, 'store', 'many');
  await mkdir(files, { recursive: true });
  for (let i = 0; i < 900; i++) await writeFile(join(files, `file-with-a-long-name-${i}.txt`), `${i}\n`);
  const layout = JSON.parse(await readFile(join(repoRoot, 'layouts', 'small.json'), 'utf8')) as { partitions: { name: string; contents?: unknown[] }[] };
  delete (layout as Record<string, unknown>)['$schema'];
  layout.partitions.find((p) => p.name === 'store')!.contents = [{ dir: join(dir, 'store') }];
  await writeFile(join(dir, 'many.json'), JSON.stringify(layout));
  const image = join(dir, 'many.img');
  await buildQuiet({ layout: join(dir, 'many.json'), out: image, version: '1.0.0' });
  const whole = await execa(BIN, ['inspect', image, '--json'], { encoding: 'utf8' });
  assert.ok(whole.stdout.length > 100_000, `${whole.stdout.length} bytes: not more than a pipe holds`);
  // The reader sleeps first: the command is done long before the pipe has room for the rest.
  const late = await execa('bash', ['-c', 'set -o pipefail; "$0" inspect "$1" --json | (sleep 1; cat)', BIN, image], { encoding: 'utf8', reject: false });
  assert.is(late.exitCode, 0, late.stderr);
  assert.is(late.stdout.length, whole.stdout.length);
  assert.ok(late.stdout === whole.stdout);
  // A reader that leaves with the rest still queued (EPIPE): the command ends quietly, exit 0.
  const gone = await execa('bash', ['-c', 'set -o pipefail; "$0" inspect "$1" --json | (sleep 0.5; head -c 10 >/dev/null)', BIN, image], { encoding: 'utf8', reject: false });
  assert.is(gone.stderr, '');
  assert.is(gone.exitCode, 0);
  // A full disk under `> file` (/dev/full): said on stderr, exit 3, whether the output went
  // through process.stdout (inspect, the saved --help, yargs' help of a command) or was written to
  // fd 1 directly (status).
  for (const line of [['inspect', image, '--json'], ['--help'], ['status', '--help'], ['status', image]]) {
    const full = await execa('sh', ['-c', '"$0" "$@" > /dev/full', BIN, ...line], { encoding: 'utf8', reject: false });
    assert.is(full.exitCode, 3, `${line.join(' ')}: ${full.stderr}`);
    assert.match(full.stderr, /^bankforge: writing.*(ENOSPC|no space left)/, line.join(' '));
  }
});

test.after(cleanup);
test.run();
