// `bankforge config TARGET get [KEY...]` and `bankforge config TARGET set KEY=VALUE...`: read and
// preseed the host configuration that the kernel keeps on the store partition (docs/host.md),
// through disk/config.ts. get prints key=value lines (the defaults when the guest has not written
// any yet); set writes the next copy of the record, which the guest reads on its next boot.

import { BankforgeError, EXIT } from '../../support/errors.js';
import { getConfig, setConfig } from '../../disk/config.js';
import type { Settings } from '../../partitions/config-record.js';
import { terminalSafe } from '../../support/terminal-text.js';
import { printOut } from '../stdout.js';

interface Args { target: string; action: string; settings?: (string | number)[]; json: boolean; quiet: boolean }

export async function run(a: Args): Promise<void> {
  const args = (a.settings ?? []).map(String);
  if (a.action === 'get') {
    const r = await getConfig(a.target, args);
    if (a.json) {
      printOut(`${JSON.stringify(r, null, 2)}\n`);
    } else {
      for (const [k, v] of Object.entries(r.settings)) printOut(terminalSafe(`${k}=${v}\n`));
      if (!r.saved && !a.quiet) process.stderr.write('(no configuration saved yet: these are the defaults the first boot writes)\n');
    }
    return;
  }
  if (a.action !== 'set') throw new BankforgeError(`config: action ${a.action}: expected get or set`, EXIT.usage);
  const changes: Settings = Object.create(null) as Settings; // user keys: no prototype to collide with
  for (const kv of args) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new BankforgeError(`config set: ${kv}: expected KEY=VALUE`, EXIT.usage);
    changes[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const w = await setConfig(a.target, changes);
  if (a.json) printOut(`${JSON.stringify({ target: a.target, seq: w.seq, slot: w.slot, set: { ...changes } }, null, 2)}\n`);
  else if (!a.quiet) printOut(terminalSafe(`saved seq ${w.seq} in slot ${w.slot} of ${a.target}\n`));
}
