// `bankforge rollback`: argument handling around disk/rollback.ts.

import { makeProgress } from '../../support/progress.js';
import { rollback } from '../../disk/rollback.js';
import { printOut } from '../stdout.js';

interface Args { target: string; quiet: boolean; json: boolean }

export async function run(a: Args): Promise<void> {
  const r = await rollback(a.target);
  if (a.json) { printOut(`${JSON.stringify(r, null, 2)}\n`); return; }
  makeProgress({ quiet: a.quiet }).done(`rolled back: bank ${r.to} (${r.version}) boots next instead of bank ${r.from} (updated ${r.updated})`);
}
