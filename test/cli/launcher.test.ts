// bin/bankforge.js executed as a user's shell does, through its #! line: Node starts without
// reading NODE_EXTRA_CA_CERTS (a file Node parses at every start, which bankforge never needs),
// and the command still runs. A file that cannot be read makes Node warn at start-up; that
// warning is how this test sees whether Node read it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { join } from 'node:path';
import { BIN } from '../helpers/cli.js';
import { scratch } from '../helpers/tools.js';
import { toolVersion } from '../../support/package-info.js';

const { dir, cleanup } = await scratch('bankforge-launcher-');
const env = { NODE_EXTRA_CA_CERTS: join(dir, 'no-such-bundle.pem') };

test('plain node reads NODE_EXTRA_CA_CERTS at start-up (the oracle: it warns about a missing file)', async () => {
  const r = await execa(process.execPath, ['-e', '0'], { env, reject: false, encoding: 'utf8' });
  assert.is(r.exitCode, 0);
  assert.match(r.stderr, /Ignoring extra certs from .*no-such-bundle\.pem/);
});

test('the bankforge command does not read it, and runs', async () => {
  const r = await execa(BIN, ['--version'], { env, reject: false, encoding: 'utf8' });
  assert.is(r.exitCode, 0, r.stderr);
  assert.is(r.stdout, toolVersion());
  assert.is(r.stderr, '');
});

test.after(cleanup);
test.run();
