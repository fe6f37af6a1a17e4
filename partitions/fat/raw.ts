// Direct, fatfs-independent access to an existing volume's structures: the FAT (first copy), cluster
// chains, directories with their on-disk positions, FSInfo. The volume driver uses it for what fatfs
// lacks (short names, UTC times, FAT mirroring, FSInfo) and to repair what fatfs writes imperfectly.

import type { Bytes, Lba } from '../units.js';
import { parseBootSector, parseFsInfo, encodeFsInfo, type FsInfo, type VolumeLayout } from './bootsector.js';
import { parseDirectory, type ParsedEntry } from './direntry.js';
import { fatBytesFor, fatEntryOffset, readFatEntry, readFatEntryAt, writeFatEntryAt } from './fattable.js';
import type { SectorDevice } from './device.js';
import { nameKey } from './names.js';
import { ATTR, FAT_BAD, FAT_EOC_MIN } from './spec.js';
import { FatError } from './types.js';

/** FAT reads and copies go in pieces of this size, so no buffer grows with the volume. */
const CHUNK: Bytes = 256 * 1024;

export interface DirListing {
  entries: ParsedEntry[];
  label?: string;
  /** Absolute byte offset on the volume of the entry that starts at `offset` in the directory's bytes. */
  volumeOffset(offset: Bytes): Bytes;
  /** First cluster of the directory; 0 for a FAT12/16 root. */
  cluster: number;
}

export class RawVolume {
  private readonly fatChunks = new Map<number, Buffer>();

  private constructor(readonly dev: SectorDevice, readonly layout: VolumeLayout) {}

  static async open(dev: SectorDevice): Promise<RawVolume> {
    const boot = Buffer.alloc(dev.sectorSize);
    await dev.read(0, boot);
    const layout = parseBootSector(boot);
    if (layout.sectorSize !== dev.sectorSize) {
      throw new FatError(`the volume's BPB says ${layout.sectorSize}-byte sectors, the device has ${dev.sectorSize}-byte sectors`, 'sectorSize');
    }
    return new RawVolume(dev, layout);
  }

  /** Reads whole sectors; sectors past the device's end (a BPB claiming more than exists) read as zeros. */
  async readSectors(lba: Lba, count: number): Promise<Buffer> {
    const buf = Buffer.alloc(count * this.layout.sectorSize);
    const available = Math.max(0, Math.min(count, this.dev.sectorCount - lba));
    if (available > 0) await this.dev.read(lba, buf.subarray(0, available * this.layout.sectorSize));
    return buf;
  }

  async writeSectors(lba: Lba, data: Buffer): Promise<void> {
    if (!this.dev.write) throw new FatError('the device is read-only');
    await this.dev.write(lba, data);
  }

  fatStart(copy: number): Lba {
    return this.layout.reservedSectors + copy * this.layout.sectorsPerFat;
  }

  /** Bytes of one FAT copy that hold entries for existing clusters (the rest of the FAT is padding). */
  fatUsedBytes(): Bytes {
    return Math.min(fatBytesFor(this.layout.type, this.layout.clusterCount + 2), this.layout.sectorsPerFat * this.layout.sectorSize);
  }

  /** Calls `fn` with consecutive pieces of FAT copy `copy`, each starting at byte `offset` of the FAT. */
  async forEachFatChunk(copy: number, fn: (offset: Bytes, bytes: Buffer) => void | Promise<void>): Promise<void> {
    const ss = this.layout.sectorSize;
    const total = this.layout.sectorsPerFat;
    const step = Math.max(1, Math.floor(CHUNK / ss));
    for (let s = 0; s < total; s += step) {
      const n = Math.min(step, total - s);
      await fn(s * ss, await this.readSectors(this.fatStart(copy) + s, n));
    }
  }

  /** One FAT-1 entry; chunks are cached, and dropped by `forgetFat` after anything else wrote the FAT. */
  async fatEntry(cluster: number): Promise<number> {
    const { type, sectorSize: ss } = this.layout;
    const at = fatEntryOffset(type, cluster);
    const index = Math.floor(at / CHUNK);
    let chunk = this.fatChunks.get(index);
    if (!chunk) {
      // One sector more than the chunk, so a FAT12 entry straddling the chunk's end is whole.
      const first = (index * CHUNK) / ss;
      const count = Math.min(CHUNK / ss + 1, this.layout.sectorsPerFat - first);
      chunk = await this.readSectors(this.fatStart(0) + first, count);
      this.fatChunks.set(index, chunk);
    }
    return readFatEntryAt(type, chunk, at - index * CHUNK, (cluster & 1) === 1);
  }

  forgetFat(): void {
    this.fatChunks.clear();
  }

  /** Sets entries in every FAT copy, rewriting only the sectors concerned. */
  async setFatEntries(values: Map<number, number>): Promise<void> {
    const { type, sectorSize: ss, fatCount } = this.layout;
    const bySector = new Map<number, [number, number][]>();
    for (const [cluster, value] of values) {
      const s = Math.floor(fatEntryOffset(type, cluster) / ss);
      bySector.set(s, [...(bySector.get(s) ?? []), [cluster, value]]);
    }
    for (const s of [...bySector.keys()].sort((a, b) => a - b)) {
      // Two sectors, so a FAT12 entry crossing the boundary is rewritten whole.
      const count = Math.min(2, this.layout.sectorsPerFat - s);
      const buf = await this.readSectors(this.fatStart(0) + s, count);
      for (const [cluster, value] of bySector.get(s)!) writeFatEntryAt(type, buf, fatEntryOffset(type, cluster) - s * ss, (cluster & 1) === 1, value);
      for (let copy = 0; copy < fatCount; copy++) await this.writeSectors(this.fatStart(copy) + s, buf);
    }
    this.forgetFat();
  }

  /** The clusters of a chain, in order; stops with FatError on loops, free or out-of-range links. */
  async chain(first: number): Promise<number[]> {
    const { type, clusterCount } = this.layout;
    const clusters: number[] = [];
    let c = first;
    while (true) {
      if (c < 2 || c > clusterCount + 1) throw new FatError(`cluster chain from ${first} reaches cluster ${c}, outside 2..${clusterCount + 1}`);
      if (clusters.length > clusterCount) throw new FatError(`cluster chain from ${first} loops`);
      clusters.push(c);
      const next = await this.fatEntry(c);
      if (next >= FAT_EOC_MIN[type]) return clusters;
      if (next === FAT_BAD[type] || next === 0) throw new FatError(`cluster chain from ${first} runs into ${next === 0 ? 'a free' : 'a bad'} cluster after ${c}`);
      c = next;
    }
  }

  clusterLba(cluster: number): Lba {
    return this.layout.firstDataSector + (cluster - 2) * this.layout.sectorsPerCluster;
  }

  async readDirectory(cluster: number): Promise<DirListing> {
    const L = this.layout;
    if (cluster === 0 && L.type !== 'fat32') {
      const start = L.reservedSectors + L.fatCount * L.sectorsPerFat;
      const bytes = await this.readSectors(start, L.rootDirSectors);
      return { ...parseDirectory(bytes), volumeOffset: (o) => start * L.sectorSize + o, cluster: 0 };
    }
    const first = cluster === 0 ? L.rootCluster : cluster;
    const clusters = await this.chain(first);
    const parts: Buffer[] = [];
    for (const c of clusters) parts.push(await this.readSectors(this.clusterLba(c), L.sectorsPerCluster));
    const listing = parseDirectory(Buffer.concat(parts));
    return {
      ...listing,
      volumeOffset: (o) => this.clusterLba(clusters[Math.floor(o / L.clusterSize)]!) * L.sectorSize + (o % L.clusterSize),
      cluster: first,
    };
  }

  /** Finds a path ('' or '/' = root); undefined when a component is missing. */
  async lookup(path: string): Promise<{ entry?: ParsedEntry; parent?: DirListing; dirCluster: number } | undefined> {
    const parts = path.split('/').filter((p) => p !== '');
    let dirCluster = 0;
    let found: ParsedEntry | undefined;
    let parent: DirListing | undefined;
    for (const [i, part] of parts.entries()) {
      parent = await this.readDirectory(dirCluster);
      const key = nameKey(part);
      found = parent.entries.find((e) => e.name !== '.' && e.name !== '..' && (nameKey(e.name) === key || nameKey(e.shortName) === key));
      if (!found) return undefined;
      const isDir = (found.entry.attr & ATTR.directory) !== 0;
      if (i < parts.length - 1 && !isDir) return undefined;
      dirCluster = found.entry.cluster;
    }
    return found ? { entry: found, parent: parent!, dirCluster } : { dirCluster: 0 };
  }

  /** Free clusters in FAT 1 and the lowest free cluster number (0 when none is free). */
  async countFree(): Promise<{ free: number; firstFree: number }> {
    const { type, clusterCount } = this.layout;
    const used = this.fatUsedBytes();
    let free = 0;
    let firstFree = 0;
    if (type === 'fat12') {
      // A FAT12 FAT is at most 6 KiB: read it whole rather than deal with entries split across chunks.
      const fat = await this.readSectors(this.fatStart(0), Math.ceil(used / this.layout.sectorSize));
      for (let c = 2; c < clusterCount + 2; c++) if (readFatEntry(type, fat, c) === 0) { free++; firstFree ||= c; }
      return { free, firstFree };
    }
    const width = type === 'fat16' ? 2 : 4;
    await this.forEachFatChunk(0, (offset, bytes) => {
      const firstCluster = offset / width;
      for (let i = 0; i < bytes.length / width; i++) {
        const c = firstCluster + i;
        if (c < 2 || c >= clusterCount + 2) continue;
        if (readFatEntry(type, bytes, i) === 0) { free++; firstFree ||= c; }
      }
    });
    return { free, firstFree };
  }

  async readFsInfo(sector: Lba): Promise<FsInfo | undefined> {
    return parseFsInfo(await this.readSectors(sector, 1));
  }

  async writeFsInfo(sector: Lba, info: FsInfo): Promise<void> {
    await this.writeSectors(sector, encodeFsInfo(info, this.layout.sectorSize));
  }

  /** Re-reads the boot sector (the layout never changes under us; this is for comparing with the backup). */
  async bootSector(): Promise<Buffer> {
    return this.readSectors(0, 1);
  }
}
