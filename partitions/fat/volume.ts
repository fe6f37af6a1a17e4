// Reading and editing an existing FAT12/16/32 volume (ours or anyone's). Reads (listings, file
// contents by cluster chain) go through RawVolume, our own parser: a read-only volume never loads
// fatfs. New files and directories go through fatfs, mounted on the first edit; FAT mirroring,
// FSInfo and the fix-ups fatfs needs go through RawVolume, so that after close() `fsck.fat -n`
// finds nothing to say. See docs/fat.md for fatfs' limits.

import type { Bytes, SectorSize } from '../units.js';
import { mountFatfs, type Fatfs } from './fatfs-binding.js';
import type { SectorDevice } from './device.js';
import { checkLongName, assignShortNames, shortNameChecksum, shortNameToString } from './names.js';
import { RawVolume } from './raw.js';
import { ATTR, DIRENT, DIRENT_SIZE, FSINFO_UNKNOWN, LFN, NO_NAME } from './spec.js';
import { decodeFatStamp } from './timestamps.js';
import { FatError, type FatType } from './types.js';

export type { SectorDevice } from './device.js';
export { fileSectorDevice } from './device.js';

export interface FatInfo {
  type: FatType;
  /** The root directory's label entry when there is one, else the BPB label; '' for none. */
  label: string;
  serial: number;
  sectorSize: SectorSize;
  clusterSize: Bytes;
  clusterCount: number;
  /** Counted from FAT 1, not taken from FSInfo. */
  freeClusters: number;
  size: Bytes;
  freeBytes: Bytes;
}

export interface FatDirEntry {
  name: string;
  shortName: string;
  isDir: boolean;
  size: Bytes;
  /** Last write time, read as UTC. */
  mtime: Date;
}

function splitPath(path: string): { parent: string; name: string } {
  const parts = path.split('/').filter((p) => p !== '');
  if (parts.length === 0) throw new FatError(`'${path}' names the root directory, not a file`, 'path');
  return { parent: parts.slice(0, -1).join('/'), name: parts.at(-1)! };
}

export class FatVolume {
  private dirty = false;
  private closed = false;

  private constructor(
    private raw: RawVolume,
    /** Mounted on the first edit: reading needs none of it. */
    private fs: Fatfs | undefined,
    private readonly dev: SectorDevice,
    private readonly readOnly: boolean,
    private label: string,
    private freeClusters?: number,
  ) {}

  static async open(dev: SectorDevice, opts: { readOnly?: boolean } = {}): Promise<FatVolume> {
    const readOnly = opts.readOnly ?? !dev.write;
    if (!readOnly && !dev.write) throw new FatError('asked to open the volume for writing, but the device has no write()');
    const raw = await RawVolume.open(dev);
    const L = raw.layout;
    if (!readOnly && L.totalSectors > dev.sectorCount) {
      throw new FatError(`the BPB claims ${L.totalSectors} sectors but the device has ${dev.sectorCount}; refusing to write to it`, 'size');
    }
    // A volume opened for editing is mounted at once, so that one fatfs cannot work with is refused before any edit.
    const fs = readOnly ? undefined : await mountFatfs(dev);
    const root = await raw.readDirectory(0);
    const bpbLabel = L.label.trimEnd();
    const label = root.label ?? (bpbLabel === NO_NAME.trimEnd() ? '' : bpbLabel);
    return new FatVolume(raw, fs, dev, readOnly, label);
  }

  /** The free count walks the whole FAT: done when asked for (reading files does not need it), then kept until an edit. */
  async info(): Promise<FatInfo> {
    const L = this.raw.layout;
    this.freeClusters ??= (await this.raw.countFree()).free;
    return {
      type: L.type, label: this.label, serial: L.serial, sectorSize: L.sectorSize, clusterSize: L.clusterSize,
      clusterCount: L.clusterCount, freeClusters: this.freeClusters, size: L.totalSectors * L.sectorSize,
      freeBytes: this.freeClusters * L.clusterSize,
    };
  }

  async readdir(path: string): Promise<FatDirEntry[]> {
    const found = await this.raw.lookup(path);
    if (!found) throw new FatError(`'${path}' does not exist`, 'path');
    if (found.entry && !(found.entry.entry.attr & ATTR.directory)) throw new FatError(`'${path}' is a file, not a directory`, 'path');
    const dir = await this.raw.readDirectory(found.dirCluster);
    return dir.entries
      .filter((e) => e.name !== '.' && e.name !== '..')
      .map((e) => ({
        name: e.name,
        shortName: e.shortName,
        isDir: (e.entry.attr & ATTR.directory) !== 0,
        size: e.entry.size,
        mtime: new Date(decodeFatStamp(e.entry.written.date, e.entry.written.time) * 1000),
      }));
  }

  async readFile(path: string): Promise<Buffer> {
    const found = await this.raw.lookup(path);
    if (!found?.entry) throw new FatError(`'${path}' does not exist`, 'path');
    const { attr, size } = found.entry.entry;
    if (attr & ATTR.directory) throw new FatError(`'${path}' is a directory`, 'path');
    if (size === 0) return Buffer.alloc(0);
    // The chain is walked whole (it stops on loops, free and out-of-range links), then the sectors
    // the size needs are read, each run of consecutive clusters in one read.
    const L = this.raw.layout;
    const clusters = await this.raw.chain(found.entry.entry.cluster);
    const needed = Math.ceil(size / L.clusterSize);
    if (clusters.length < needed) throw new FatError(`'${path}' is ${size} bytes, ${needed} clusters, but its cluster chain has ${clusters.length}`, 'path');
    const data = Buffer.allocUnsafe(size);
    for (let i = 0; i < needed;) {
      let n = 1;
      while (i + n < needed && clusters[i + n] === clusters[i]! + n) n++;
      const from = i * L.clusterSize;
      const length = Math.min(n * L.clusterSize, size - from);
      (await this.raw.readSectors(this.raw.clusterLba(clusters[i]!), Math.ceil(length / L.sectorSize))).copy(data, from, 0, length);
      i += n;
    }
    return data;
  }

  /** fatfs, mounted on the first edit and again after a fix-up (it caches sectors per chain). */
  private async fatfs(): Promise<Fatfs> {
    this.fs ??= await mountFatfs(this.dev);
    return this.fs;
  }

  /**
   * The whole tree, directories included, sorted bytewise by path. It goes by cluster with a set
   * of the directories already listed, so a hostile volume cannot make it loop: a directory entry
   * that points back at the root or at an ancestor, and a directory whose cluster chain is broken,
   * are left out and told to `problems` (without it, they throw FatError).
   */
  async walk(problems?: string[]): Promise<{ path: string; size: number; isDir: boolean }[]> {
    const out: { path: string; size: number; isDir: boolean }[] = [];
    const problem = (what: string): void => {
      if (!problems) throw new FatError(what);
      problems.push(what);
    };
    const root = this.raw.layout.type === 'fat32' ? this.raw.layout.rootCluster : 0;
    const listed = new Map<number, string>([[0, '/'], [root, '/']]);
    const visit = async (dir: string, cluster: number): Promise<void> => {
      let entries;
      try {
        entries = (await this.raw.readDirectory(cluster)).entries;
      } catch (e) {
        if (!(e instanceof FatError)) throw e;
        return problem(`directory ${dir || '/'}: ${e.message}`);
      }
      for (const e of entries) {
        if (e.name === '.' || e.name === '..') continue;
        const path = dir ? `${dir}/${e.name}` : e.name;
        const isDir = (e.entry.attr & ATTR.directory) !== 0;
        out.push({ path, size: isDir ? 0 : e.entry.size, isDir });
        if (!isDir) continue;
        const again = listed.get(e.entry.cluster);
        if (again !== undefined) {
          problem(`directory ${path} points at cluster ${e.entry.cluster}, which is ${again === '/' ? 'the root directory' : `directory ${again}`}; not listed again`);
          continue;
        }
        listed.set(e.entry.cluster, path);
        await visit(path, e.entry.cluster);
      }
    };
    await visit('', 0);
    return out.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  }

  private writable(op: string): void {
    if (this.closed) throw new FatError(`${op} after close()`);
    if (this.readOnly) throw new FatError(`${op}: the volume is open read-only`);
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    this.writable(`writeFile '${path}'`);
    const { parent, name } = splitPath(path);
    checkLongName(name, path);
    const dir = await this.raw.lookup(parent);
    if (!dir || (dir.entry && !(dir.entry.entry.attr & ATTR.directory))) throw new FatError(`'${parent}', the parent of '${path}', is not a directory`, 'path');
    this.dirty = true;
    await (await this.fatfs()).writeFile(path, Buffer.from(data.buffer, data.byteOffset, data.length));
    await this.afterCreate(path, data.length === 0);
  }

  async mkdir(path: string): Promise<void> {
    this.writable(`mkdir '${path}'`);
    const { name } = splitPath(path);
    checkLongName(name, path);
    if (await this.raw.lookup(path)) throw new FatError(`'${path}' already exists`, 'path');
    this.dirty = true;
    await (await this.fatfs()).mkdir(path);
    await this.afterCreate(path, false);
  }

  /**
   * Repairs what fatfs leaves behind after creating or rewriting an entry: an empty file keeps a
   * cluster (fsck.fat truncates it), short aliases are upper-cased long names that may collide or hold
   * characters Windows rejects, and a new directory's '..' points at the FAT32 root cluster instead of 0.
   */
  private async afterCreate(path: string, empty: boolean): Promise<void> {
    this.raw.forgetFat();
    const found = await this.raw.lookup(path);
    if (!found?.entry || !found.parent) throw new FatError(`fatfs reported success but '${path}' is not there`);
    const { entry, parent } = found;
    const at = parent.volumeOffset(entry.offset);
    const patches: { at: Bytes; bytes: Uint8Array }[] = [];
    let changed = false;

    if (empty && entry.entry.cluster !== 0) {
      const freed = new Map<number, number>();
      for (const c of await this.raw.chain(entry.entry.cluster)) freed.set(c, 0);
      await this.raw.setFatEntries(freed);
      patches.push({ at: at + DIRENT.clusterHigh, bytes: new Uint8Array(2) }, { at: at + DIRENT.clusterLow, bytes: new Uint8Array(2) });
    }

    const others = parent.entries.filter((e) => e !== entry).map((e) => e.shortName);
    const [wanted] = assignShortNamesAvoiding(entry.name, others);
    if (shortNameToString(wanted!) !== entry.shortName) {
      patches.push({ at: at + DIRENT.name, bytes: wanted! });
      // Every LFN entry before the short entry carries the checksum of the short name.
      const sum = shortNameChecksum(wanted!);
      for (let o = entry.offset - DIRENT_SIZE; o >= 0; o -= DIRENT_SIZE) {
        const lfnAt = parent.volumeOffset(o);
        const b = await this.readBytes(lfnAt, DIRENT_SIZE);
        if ((b[DIRENT.attr]! & 0x3f) !== ATTR.longName) break;
        patches.push({ at: lfnAt + LFN.checksum, bytes: new Uint8Array([sum]) });
      }
    }

    if ((entry.entry.attr & ATTR.directory) && parent.cluster !== 0 && this.raw.layout.type === 'fat32' && parent.cluster === this.raw.layout.rootCluster) {
      const dotdot = this.raw.clusterLba(entry.entry.cluster) * this.raw.layout.sectorSize + DIRENT_SIZE;
      patches.push({ at: dotdot + DIRENT.clusterHigh, bytes: new Uint8Array(2) }, { at: dotdot + DIRENT.clusterLow, bytes: new Uint8Array(2) });
    }

    for (const p of patches) {
      await this.patchBytes(p.at, p.bytes);
      changed = true;
    }
    if (changed) this.fs = undefined; // fatfs caches sectors per chain: mount afresh for the next edit
    this.freeClusters = undefined;
  }

  private async readBytes(at: Bytes, length: Bytes): Promise<Buffer> {
    const ss = this.raw.layout.sectorSize;
    const first = Math.floor(at / ss);
    const buf = await this.raw.readSectors(first, Math.ceil((at + length) / ss) - first);
    return buf.subarray(at - first * ss, at - first * ss + length);
  }

  private async patchBytes(at: Bytes, bytes: Uint8Array): Promise<void> {
    const ss = this.raw.layout.sectorSize;
    const first = Math.floor(at / ss);
    const buf = await this.raw.readSectors(first, Math.ceil((at + bytes.length) / ss) - first);
    buf.set(bytes, at - first * ss);
    await this.raw.writeSectors(first, buf);
  }

  /**
   * Warnings about a volume's housekeeping: FAT copies that differ, a wrong FSInfo, a BPB larger than the
   * device, a FAT32 backup boot sector out of step. An empty list means none of these were found.
   */
  async checkConsistency(): Promise<string[]> {
    const L = this.raw.layout;
    const warnings: string[] = [];
    if (L.totalSectors > this.dev.sectorCount) {
      warnings.push(`BPB says ${L.totalSectors} sectors, the device has only ${this.dev.sectorCount}`);
    }
    const first = await this.fatCopyDiff();
    for (const d of first) warnings.push(d);
    const { free, firstFree } = await this.raw.countFree();
    if (L.type === 'fat32') {
      const info = await this.raw.readFsInfo(L.fsInfoSector);
      if (!info) warnings.push(`FSInfo sector ${L.fsInfoSector} lacks its signatures`);
      else {
        if (info.freeClusters !== FSINFO_UNKNOWN && info.freeClusters !== free) {
          warnings.push(`FSInfo free count is ${info.freeClusters}, FAT 1 has ${free} free clusters`);
        }
        if (info.nextFree !== FSINFO_UNKNOWN && (info.nextFree < 2 || info.nextFree > L.clusterCount + 1)) {
          warnings.push(`FSInfo next-free hint ${info.nextFree} is outside clusters 2..${L.clusterCount + 1} (first free is ${firstFree})`);
        }
      }
      if (L.backupBootSector !== 0) {
        const [boot, backup] = [await this.raw.readSectors(0, 1), await this.raw.readSectors(L.backupBootSector, 1)];
        if (!boot.equals(backup)) warnings.push(`backup boot sector ${L.backupBootSector} differs from the boot sector`);
      }
    }
    const fat0 = await this.raw.fatEntry(0);
    if ((fat0 & 0xff) !== L.media) warnings.push(`FAT entry 0 holds media 0x${(fat0 & 0xff).toString(16)}, the BPB says 0x${L.media.toString(16)}`);
    return warnings;
  }

  private async fatCopyDiff(): Promise<string[]> {
    const L = this.raw.layout;
    const out: string[] = [];
    const used = this.raw.fatUsedBytes();
    for (let copy = 1; copy < L.fatCount; copy++) {
      let firstDiff = -1;
      const other: Buffer[] = [];
      await this.raw.forEachFatChunk(copy, (_o, bytes) => void other.push(bytes));
      let i = 0;
      await this.raw.forEachFatChunk(0, (offset, bytes) => {
        const theirs = other[i++]!;
        if (firstDiff >= 0 || offset >= used) return;
        const limit = Math.min(bytes.length, used - offset);
        for (let k = 0; k < limit; k++) if (bytes[k] !== theirs[k]) { firstDiff = offset + k; break; }
      });
      if (firstDiff >= 0) {
        const width = L.type === 'fat12' ? 1.5 : L.type === 'fat16' ? 2 : 4;
        out.push(`FAT copy ${copy + 1} differs from FAT 1 at byte ${firstDiff} of the FAT (entry of cluster ${Math.floor(firstDiff / width)}, sector ${this.raw.fatStart(copy) + Math.floor(firstDiff / L.sectorSize)})`);
      }
    }
    return out;
  }

  /** After edits: mirrors FAT 1 into the other copies and rewrites FSInfo (and its backup) with true counts. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.readOnly || !this.dirty) return;
    const L = this.raw.layout;
    for (let copy = 1; copy < L.fatCount; copy++) {
      await this.raw.forEachFatChunk(0, async (offset, bytes) => {
        await this.raw.writeSectors(this.raw.fatStart(copy) + offset / L.sectorSize, bytes);
      });
    }
    if (L.type === 'fat32') {
      const { free, firstFree } = await this.raw.countFree();
      const info = { freeClusters: free, nextFree: firstFree || FSINFO_UNKNOWN };
      await this.raw.writeFsInfo(L.fsInfoSector, info);
      const backup = L.backupBootSector + L.fsInfoSector;
      if (L.backupBootSector !== 0 && backup < L.reservedSectors && (await this.raw.readFsInfo(backup))) await this.raw.writeFsInfo(backup, info);
    }
  }
}

/** The short name the volume driver gives a new entry, avoiding the directory's other short names. */
function assignShortNamesAvoiding(name: string, others: string[]): Uint8Array[] {
  // assignShortNames hands out aliases in order, so list the existing names first as exact 8.3 names
  // (they are, being short names) and take the alias of the new one.
  const all = assignShortNames([...others, name]);
  return [all.at(-1)!.short];
}
