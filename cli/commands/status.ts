// `bankforge status`: prints disk/status.ts' report as text or JSON.

import { status, type BankStatus, type StatusReport } from '../../disk/status.js';
import { printOut } from '../stdout.js';
import { terminalSafe } from '../../support/terminal-text.js';

interface Args { target: string; json: boolean }

export async function run(a: Args): Promise<void> {
  const r = await status(a.target);
  printOut(a.json ? `${JSON.stringify(r, null, 2)}\n` : terminalSafe(render(r)));
}

function bankLine(b: BankStatus): string {
  const tries = b.bootstate === 'new' || b.bootstate === 'trying' ? `, ${b.triesLeft} of ${b.triesMax} tries left` : '';
  const why = b.why ? `\n  last: ${b.why}` : '';
  const panic = b.panic ? `\n  last panic (core dump seq ${b.panic.seq}): ${b.panic.message}` : '';
  const [c0, c1] = b.copies.map((c) => (c === null ? 'does not decode' : `seq ${c}`));
  return `bank ${b.bank} (${b.partition.name}): ${b.bootstate}${tries}, version ${b.version || '-'}, updated ${b.updated}${why}${panic}\n  copies: slot 0 ${c0}, slot 1 ${c1}; current slot ${b.slot}`;
}

function render(r: StatusReport): string {
  const lines = [r.next ? `next boot: bank ${r.next} (${r.banks.find((b) => b.bank === r.next)!.version})` : 'next boot: no bootable bank: the loader will stop and wait'];
  for (const w of r.loaderWrites) lines.push(`  the loader will first record: ${w}`);
  for (const b of r.banks) {
    lines.push('', bankLine(b));
    for (const h of b.history) lines.push(`  #${h.seq} ${h.event}: ${h.bootstate}, tries ${h.triesLeft}${h.reason !== 'none' ? `, ${h.reason}` : ''}`);
  }
  const c = r.coredumps;
  if (c?.problem) lines.push('', `core dumps: cannot be read (${c.problem})`);
  else if (c && c.waiting > 0) lines.push('', `${c.waiting} core dump${c.waiting === 1 ? '' : 's'} waiting: ${c.command}`);
  return `${lines.join('\n')}\n`;
}
