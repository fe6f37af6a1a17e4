// bin/bankforge.js executed as a user's shell does: its first lines start Node through sh without
// NODE_EXTRA_CA_CERTS (a file Node 20 parses at every start, which bankforge never needs), and the
// command still runs, with its arguments as given, also through a symlink (npm's global bin) and
// as `sh FILE` (pnpm's wrappers). A module preloaded with NODE_OPTIONS reports, from inside the
// Node that runs, what that Node's environment holds.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BIN } from '../helpers/cli.js';
import { scratch } from '../helpers/tools.js';
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

test.after(cleanup);
test.run();
