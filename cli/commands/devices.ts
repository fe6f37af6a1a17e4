// `bankforge devices`: the disks `bankforge flash` could write, what is on them, and whether it
// would write them as they are (disk/flash/safety.ts has the rules).

import { listDevices, type DeviceInfo } from '../../disk/flash/devices.js';
import { formatBytes } from '../../disk/flash/progress.js';
import { isFlashableWithoutOverride } from '../../disk/flash/safety.js';
import { terminalSafe } from '../../support/terminal-text.js';
import { printOut } from '../stdout.js';

interface Args { json: boolean }

/** Why flash would refuse the disk before even looking at an image; empty when it would not. */
function verdict(d: DeviceInfo): string {
  if (d.system) return 'system disk';
  if (d.mounted.length) return 'mounted';
  if (d.holders.length) return 'in use';
  if (d.readOnly) return 'read-only';
  if (!isFlashableWithoutOverride(d)) return 'fixed (--allow-fixed)';
  return 'ok';
}

export async function run(a: Args): Promise<void> {
  const devices = await listDevices();
  if (a.json) {
    printOut(`${JSON.stringify(devices.map((d) => ({ ...d, flash: verdict(d) })), null, 2)}\n`);
    return;
  }
  const rows = devices.map((d) => [
    d.path, formatBytes(d.size), d.transport, d.removable ? 'yes' : 'no',
    d.model || (d.backingFile ? `(file ${d.backingFile})` : '-'),
    d.mounted.map((m) => m.mountpoint).join(',') || '-', verdict(d),
  ]);
  const head = ['DEVICE', 'SIZE', 'TRANSPORT', 'REMOVABLE', 'MODEL', 'MOUNTED', 'FLASH'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows]) printOut(terminalSafe(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`));
}
