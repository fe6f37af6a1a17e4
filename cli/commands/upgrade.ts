// `bankforge upgrade`: argument handling around disk/upgrade/upgrade.ts.

import { loadPublicKey } from '../../builder/bundle/keys.js';
import { makeProgress } from '../../support/progress.js';
import { upgrade } from '../../disk/upgrade/upgrade.js';
import { terminalSafe } from '../../support/terminal-text.js';
import { wholeNumber } from '../whole-number.js';
import { printOut } from '../stdout.js';

interface Args { target: string; bundle: string; pubkey?: string; allowUnverified: boolean; tries: string; force: boolean; json: boolean; quiet: boolean }

export async function run(a: Args): Promise<void> {
  const tries = wholeNumber('--tries', a.tries, 1, 15);
  const progress = makeProgress({ quiet: a.quiet || a.json });
  const r = await upgrade({
    target: a.target, bundle: a.bundle, tries, force: a.force, allowUnverified: a.allowUnverified, progress,
    ...(a.pubkey ? { pubkey: await loadPublicKey(a.pubkey) } : {}),
  });
  // Not "is signed": 64 bytes in the signature field prove nothing until a key checks them.
  if (r.signature === 'unchecked') process.stderr.write(`warning: ${terminalSafe(a.bundle)}: its signature was not verified (--allow-unverified); the hashes catch corruption, not forgery\n`);
  if (a.json) printOut(`${JSON.stringify(r, null, 2)}\n`);
}
