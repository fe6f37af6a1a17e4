// Running the FAT oracles (fsck.fat, mtools) on a volume file and turning their output into assertions'
// inputs: fsck's verdict, a host copy of the whole tree via mcopy, and mdir/minfo's label and serial.

import { readdir, readFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tool, mustRun } from './tools.js';

// mtools turns long names into host names through the locale's charset; it must be UTF-8 for 'Ü'.
process.env.LC_ALL = 'C.UTF-8';

/** fsck.fat -n: problems are any output lines besides the banner and the "N files, U/T clusters" summary. */
export async function fsckFat(img: string): Promise<{ exitCode: number; problems: string[]; used?: number; total?: number; all: string }> {
  const r = await tool('fsck.fat', ['-n', img]);
  const problems: string[] = [];
  let used: number | undefined;
  let total: number | undefined;
  for (const line of r.all.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const m = /: \d+ files, (\d+)\/(\d+) clusters$/.exec(line);
    if (m) { used = Number(m[1]); total = Number(m[2]); continue; }
    if (/^fsck\.fat \d/.test(line)) continue;
    problems.push(line);
  }
  return { exitCode: r.exitCode, problems, all: r.all, ...(used !== undefined ? { used, total } : {}) };
}

/** Copies the whole volume out with mcopy; returns host-relative paths of files (with content) and directories. */
export async function mcopyAll(img: string, outDir: string): Promise<{ files: Map<string, Buffer>; dirs: Set<string> }> {
  await mkdir(outDir, { recursive: true });
  await mustRun('mcopy', ['-s', '-n', '-m', '-i', img, '::*', outDir]);
  const files = new Map<string, Buffer>();
  const dirs = new Set<string>();
  const visit = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(outDir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) { dirs.add(p); await visit(p); } else files.set(p, await readFile(join(outDir, p)));
    }
  };
  await visit('');
  return { files, dirs };
}

/** Label and serial as mdir prints them ("Volume in drive : is X", "Volume Serial Number is ABCD-1234"). */
export async function mdirVolume(img: string): Promise<{ label?: string; serial?: string; all: string }> {
  const out = await mustRun('mdir', ['-i', img, '::/']);
  const label = /Volume in drive : is (.*)$/m.exec(out)?.[1]?.trimEnd();
  const serial = /Volume Serial Number is ([0-9A-F]{4}-[0-9A-F]{4})/.exec(out)?.[1];
  return { ...(label !== undefined ? { label } : {}), ...(serial !== undefined ? { serial } : {}), all: out };
}

/**
 * minfo's sector and cluster size. Undefined when minfo aborts in print_mformat_commandline (mtools 4.0.32
 * asserts on FAT16 with 4096-byte sectors, for mkfs.fat's volumes just as for ours).
 */
export async function minfo(img: string): Promise<{ sectorSize: number; sectorsPerCluster: number; all: string } | undefined> {
  const r = await tool('minfo', ['-i', img, '::']);
  if (r.exitCode !== 0 && /print_mformat_commandline: Assertion/.test(r.all)) return undefined;
  if (r.exitCode !== 0) throw new Error(`minfo -i ${img} exited ${r.exitCode}:\n${r.all}`);
  const out = r.stdout;
  return {
    sectorSize: Number(/sector size: (\d+) bytes/.exec(out)?.[1]),
    sectorsPerCluster: Number(/cluster size: (\d+) sectors/.exec(out)?.[1]),
    all: out,
  };
}

export function serialString(serial: number): string {
  const hex = serial.toString(16).toUpperCase().padStart(8, '0');
  return `${hex.slice(0, 4)}-${hex.slice(4)}`;
}
