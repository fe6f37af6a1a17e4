// The file tree the FAT suites write and read back: nested directories, long and unicode names, an
// empty file, a multi-cluster file, one of an exact cluster multiple, and a directory with enough
// entries to span several clusters. Contents are pseudo-random but fixed, so runs are comparable.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FatTree } from '../../partitions/fat/index.js';
import type { Bytes } from '../../partitions/units.js';

export function pseudoRandom(length: Bytes, seed: number): Buffer {
  const buf = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    buf[i] = x & 0xff;
  }
  return buf;
}

export interface Fixture {
  tree: FatTree;
  /** Every file's expected content, by path. */
  files: Map<string, Buffer>;
  /** Every directory path, implied ones included. */
  dirs: Set<string>;
  manyDirEntries: number;
}

export async function buildFixture(hostDir: string, clusterSize: Bytes): Promise<Fixture> {
  const tree: FatTree = new Map();
  const files = new Map<string, Buffer>();
  const data = (path: string, content: Buffer): void => {
    tree.set(path, { kind: 'file', size: content.length, source: { data: content } });
    files.set(path, content);
  };
  const boot = pseudoRandom(5 * clusterSize + 123, 1);
  await mkdir(hostDir, { recursive: true });
  const bootPath = join(hostDir, 'bootx64.efi');
  await writeFile(bootPath, boot);
  tree.set('EFI/BOOT/BOOTX64.EFI', { kind: 'file', size: boot.length, source: { path: bootPath } });
  files.set('EFI/BOOT/BOOTX64.EFI', boot);
  data('Ünïcode file name.txt', Buffer.from('héllo, ünïcode\n'));
  data('EXACT.BIN', pseudoRandom(2 * clusterSize, 2));
  data('empty.txt', Buffer.alloc(0));
  data('README', Buffer.from('read me\n'));
  data('boot.cfg', Buffer.from('title=bankforge\nkernel=kernel.elf\n'));
  data('Mixed.Case name with spaces.tar.gz', pseudoRandom(777, 3));
  data('deep/a/b/c/d/nested.cfg', Buffer.from('nested\n'));
  tree.set('EMPTYDIR', { kind: 'dir' });
  // Each name takes 3 LFN entries + 1 short entry = 128 bytes; 2.5 clusters' worth forces 3 clusters.
  const manyDirEntries = Math.ceil((2.5 * clusterSize) / 128) + 1;
  for (let i = 0; i < manyDirEntries; i++) {
    const name = `many/entry-with-a-long-name-${String(i).padStart(4, '0')}.txt`;
    data(name, i < 10 ? Buffer.from(`entry ${i}\n`) : Buffer.alloc(0));
  }
  const dirs = new Set<string>();
  for (const p of [...files.keys(), 'EMPTYDIR/x']) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return { tree, files, dirs, manyDirEntries };
}
