// `bankforge inspect`: prints the report of disk/inspect.ts as a table or as JSON.

import { inspect, type InspectReport } from '../../disk/inspect.js';
import { EXIT } from '../../support/errors.js';
import { formatSize } from '../../builder/layout/size.js';
import type { SectorSize } from '../../partitions/units.js';
import { terminalSafe } from '../../support/terminal-text.js';
import { printOut } from '../stdout.js';

interface Args { image: string; json: boolean; sectorSize?: number; quiet: boolean }

export async function run(a: Args): Promise<void> {
  const report = await inspect(a.image, a.sectorSize ? { sectorSize: a.sectorSize as SectorSize } : {});
  if (a.json) printOut(`${JSON.stringify(report, null, 2)}\n`);
  else printOut(terminalSafe(render(report)));
  if (report.warnings.length) {
    if (!a.json) for (const w of report.warnings) process.stderr.write(`warning: ${terminalSafe(w)}\n`);
    process.exitCode = EXIT.warnings;
  }
}

function render(r: InspectReport): string {
  const lines = [`${r.image}: ${formatSize(r.size)} (${r.size} bytes), GPT with ${r.sectorSize}-byte sectors, disk GUID ${r.diskGuid}${r.gptSource === 'backup' ? ' (read from the backup GPT)' : ''}`, ''];
  const rows = [['#', 'name', 'type', 'first LBA', 'last LBA', 'size', 'filesystem', 'label', 'free']];
  for (const p of r.partitions) {
    rows.push([String(p.number), p.name, p.type, String(p.firstLba), String(p.lastLba), formatSize(p.size),
      p.fat?.type ?? 'raw', p.fat?.label ?? '', p.fat ? formatSize(p.fat.free) : '']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) lines.push(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  for (const p of r.partitions) {
    const b = p.bank;
    if (!b) continue;
    const why = b.bootstate === 'invalid' ? ` (${b.reason}${b.detail ? `: ${b.detail}` : ''})` : '';
    lines.push('', `${p.name}: bank ${b.bank}, ${b.bootstate}${why}, version ${b.version || '-'}, updated ${b.updated}, tries ${b.triesLeft}/${b.triesMax}, seq ${b.seq} in slot ${b.slot}`);
    for (const h of b.history) lines.push(`  #${h.seq} ${h.event}: ${h.bootstate}, tries ${h.triesLeft}${h.reason !== 'none' ? `, ${h.reason}` : ''}`);
  }
  for (const p of r.partitions) {
    if (!p.fat) continue;
    lines.push('', `${p.name}: ${p.fat.type}, label "${p.fat.label}", serial ${p.fat.serial}, ${formatSize(p.fat.clusterSize)} clusters, ${p.fat.files.filter((f) => !f.isDir).length} files`);
    for (const f of p.fat.files) lines.push(`  ${f.isDir ? `${f.path}/` : `${f.path}  (${f.size} bytes)`}`);
  }
  return `${lines.join('\n')}\n`;
}
