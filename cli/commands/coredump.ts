// `bankforge coredump`: argument handling around disk/coredump/report.ts. Lists the dumps in
// an image's (or device's) core-dump partition and shows one in full; --json, --extract and
// --clear instead print JSON, write files, or free every slot.

import { BankforgeError, EXIT } from '../../support/errors.js';
import { clearDumps, dumpJson, extractDump, listLine, prepareExtract, renderDump } from '../../disk/coredump/report.js';
import { readDisk } from '../../disk/coredump/read.js';
import { terminalSafe } from '../../support/terminal-text.js';
import { printOut } from '../stdout.js';

interface Args { target: string; json: boolean; extract?: string; clear: boolean; seq?: number; all: boolean; kernel?: string; logLines: number; quiet: boolean }

export async function run(a: Args): Promise<void> {
  if (a.clear && (a.extract !== undefined || a.json || a.seq !== undefined)) {
    throw new BankforgeError('--clear frees every slot: it takes no --extract, --json or --seq', EXIT.usage);
  }
  if (a.seq !== undefined && (!Number.isSafeInteger(a.seq) || a.seq < 1)) throw new BankforgeError(`--seq: expected a sequence number from 1, got ${a.seq}`, EXIT.usage);
  if (!Number.isSafeInteger(a.logLines) || a.logLines < 0) throw new BankforgeError(`--log-lines: expected a whole number, got ${a.logLines}`, EXIT.usage);
  const disk = await readDisk(a.target);
  const say = (s: string) => { if (!a.quiet) printOut(`${terminalSafe(s)}\n`); };

  if (a.clear) {
    const cleared = await clearDumps(disk);
    const n = disk.dumps.filter((d) => !d.cleared).length;
    say(`cleared ${n} dump(s) in partition ${disk.partition.number} (${disk.partition.name}); the next dump will be seq ${cleared + 1}`);
    return;
  }

  const listed = disk.dumps.filter((d) => a.all || !d.cleared);
  let chosen = listed.filter((d) => a.seq === undefined || d.header.seq === a.seq);
  if (a.seq !== undefined && chosen.length === 0) {
    const have = disk.dumps.map((d) => d.header.seq).join(', ') || 'none';
    throw new BankforgeError(`${a.target}: no dump with seq ${a.seq} (dumps on disk: ${have}${a.all ? '' : '; cleared ones need --all'})`);
  }

  if (a.extract !== undefined) {
    if (a.extract === '') throw new BankforgeError('--extract: give a directory', EXIT.usage);
    await prepareExtract(a.extract, chosen);
    for (const d of chosen) say(`seq ${d.header.seq}: ${await extractDump(disk, d, a.extract, a.kernel)}`);
    if (chosen.length === 0) say('no dumps to extract');
    return;
  }

  const g = disk.geometry;
  if (a.json) {
    const dumps = [];
    for (const d of chosen) dumps.push(await dumpJson(disk, d, a.kernel));
    printOut(`${JSON.stringify({
      target: a.target,
      partition: disk.partition,
      geometry: g,
      dumps,
    }, null, 2)}\n`);
    return;
  }

  const waiting = disk.dumps.filter((d) => !d.cleared).length;
  say(`${a.target}: core-dump partition ${disk.partition.number} (${disk.partition.name}), ${g.slotCount} slots of ${g.slotSize / 1024} KiB${g.formatted ? '' : ' (never cleared: default geometry)'}, ${waiting} dump(s) waiting`);
  if (listed.length === 0) return;
  say('');
  say('  seq  slot  time                     bank  build          state       reason');
  for (const d of listed) say(listLine(d));
  // Show one in full: the one asked for, else the newest.
  if (a.seq === undefined) chosen = listed.slice(-1);
  say('');
  say(await renderDump(disk, chosen[0]!, a.kernel, a.logLines));
}
