// `bankforge upgrade`: argument handling around disk/upgrade/upgrade.ts.

import { loadPublicKey } from '../../builder/bundle/keys.js';
import { makeProgress } from '../../support/progress.js';
import { upgrade } from '../../disk/upgrade/upgrade.js';

interface Args { target: string; bundle: string; pubkey?: string; tries: number; force: boolean; json: boolean; quiet: boolean }

export async function run(a: Args): Promise<void> {
  const progress = makeProgress({ quiet: a.quiet || a.json });
  const r = await upgrade({
    target: a.target, bundle: a.bundle, tries: a.tries, force: a.force, progress,
    ...(a.pubkey ? { pubkey: await loadPublicKey(a.pubkey) } : {}),
  });
  if (r.signature === 'unchecked') process.stderr.write(`warning: ${a.bundle} is signed but no --pubkey was given: the signature was not checked\n`);
  if (a.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
}
