// `bankforge config TARGET get [KEY...]` and `bankforge config TARGET set KEY=VALUE...`: read and
// preseed the host configuration that the kernel keeps on the store partition (docs/host.md).
// get prints key=value lines (the defaults when the guest has not written any yet); set writes
// the next copy of the record, which the guest reads on its next boot.

import { BankforgeError, EXIT } from '../../support/errors.js';
import { checkSetting } from '../../partitions/config-record.js';
import { readConfigArea, settingsOf, writeConfig } from '../../disk/config.js';

interface Args { target: string; action: string; settings?: (string | number)[]; json: boolean; quiet: boolean }

export async function run(a: Args): Promise<void> {
  const area = await readConfigArea(a.target);
  const settings = settingsOf(area);
  const args = (a.settings ?? []).map(String);
  if (a.action === 'get') {
    for (const k of args) if (!(k in settings)) throw new BankforgeError(`unknown setting ${k} (known: ${Object.keys(settings).join(', ')})`, EXIT.usage);
    const keys = args.length ? args : Object.keys(settings);
    if (a.json) {
      const rec = area.view.record;
      process.stdout.write(`${JSON.stringify({ saved: !!rec, seq: rec?.seq ?? null, slot: area.view.current ?? null, settings: Object.fromEntries(keys.map((k) => [k, settings[k]])) }, null, 2)}\n`);
    } else {
      for (const k of keys) process.stdout.write(`${k}=${settings[k]}\n`);
      if (!area.view.record && !a.quiet) process.stderr.write('(no configuration saved yet: these are the defaults the first boot writes)\n');
    }
    return;
  }
  if (a.action !== 'set') throw new BankforgeError(`config: action ${a.action}: expected get or set`, EXIT.usage);
  if (!args.length) throw new BankforgeError('config set: give KEY=VALUE settings', EXIT.usage);
  for (const kv of args) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new BankforgeError(`config set: ${kv}: expected KEY=VALUE`, EXIT.usage);
    const key = kv.slice(0, eq);
    const value = kv.slice(eq + 1);
    const err = checkSetting(key, value);
    if (err) throw new BankforgeError(`config set: ${err}`, EXIT.usage);
    settings[key] = value;
  }
  const w = await writeConfig(a.target, area, settings);
  if (!a.quiet) process.stdout.write(`saved seq ${w.seq} in slot ${w.slot} of ${a.target}\n`);
}
