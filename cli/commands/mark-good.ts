// `bankforge mark-good`: argument handling around disk/mark-good.ts.

import { makeProgress } from '../../support/progress.js';
import { markGood } from '../../disk/mark-good.js';
import { printOut } from '../stdout.js';

interface Args { target: string; quiet: boolean; json: boolean }

export async function run(a: Args): Promise<void> {
  const r = await markGood(a.target);
  if (a.json) { printOut(`${JSON.stringify(r, null, 2)}\n`); return; }
  makeProgress({ quiet: a.quiet }).done(r.written
    ? `bank ${r.bank} (${r.version}) marked good`
    : `bank ${r.bank} (${r.version}) is already valid; nothing written`);
}
