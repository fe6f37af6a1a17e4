// A typed, promise-returning face for the CommonJS, callback-style `fatfs` package (0.10.8), over our
// SectorDevice. Only the calls the volume driver uses are declared: creating files and directories.

import { createRequire } from 'node:module';
import type { SectorDevice } from './device.js';
import { FatError } from './types.js';

interface FatfsDriver {
  sectorSize: number;
  numSectors: number;
  readSectors(i: number, dest: Buffer, cb: (e: Error | null) => void): void;
  writeSectors(i: number, data: Buffer, cb: (e: Error | null) => void): void;
}

type Callback<T> = (e: (Error & { code?: string }) | null, value: T) => void;

interface FatfsCallbackApi {
  writeFile(path: string, data: Buffer, opts: object, cb: Callback<void>): void;
  mkdir(path: string, cb: Callback<void>): void;
}

interface FatfsModule {
  createFileSystem(driver: FatfsDriver, opts: object, cb: (e: Error | null) => void): FatfsCallbackApi;
}

/** Loaded on the first mount: only edits need fatfs, and loading it costs every command that imports the FAT module. */
let fatfsModule: FatfsModule | undefined;
const loadFatfs = (): FatfsModule => (fatfsModule ??= createRequire(import.meta.url)('fatfs') as FatfsModule);

export interface Fatfs {
  writeFile(path: string, data: Buffer): Promise<void>;
  mkdir(path: string): Promise<void>;
}

function call<T>(what: string, fn: (cb: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    try {
      fn((e, v) => (e ? reject(new FatError(`fatfs ${what}: ${e.message}${e.code ? ` (${e.code})` : ''}`)) : resolve(v)));
    } catch (e) {
      reject(new FatError(`fatfs ${what}: ${(e as Error).message}`));
    }
  });
}

/** Mounts fatfs on `dev` to edit it (reads go through RawVolume, never fatfs). */
export function mountFatfs(dev: SectorDevice): Promise<Fatfs> {
  const write = dev.write?.bind(dev);
  if (!write) return Promise.reject(new FatError('fatfs is mounted to edit a volume, but the device has no write()'));
  const driver: FatfsDriver = {
    sectorSize: dev.sectorSize,
    numSectors: dev.sectorCount,
    readSectors(i, dest, cb) {
      const available = Math.max(0, Math.min(dest.length / dev.sectorSize, dev.sectorCount - i));
      dest.fill(0, available * dev.sectorSize);
      (available > 0 ? dev.read(i, dest.subarray(0, available * dev.sectorSize)) : Promise.resolve()).then(() => cb(null), cb);
    },
    writeSectors: (i, data, cb) => void write(i, data).then(() => cb(null), cb),
  };
  return new Promise((resolve, reject) => {
    // fatfs needs noatime (reads would otherwise write access dates) and gets umask etc. it only reports.
    const fs = loadFatfs().createFileSystem(driver, { ro: false, noatime: true }, (e) => {
      if (e) return reject(new FatError(`fatfs cannot mount the volume: ${e.message}`));
      resolve({
        writeFile: (p, d) => call(`writeFile ${p}`, (cb) => fs.writeFile(p, d, {}, cb)),
        mkdir: (p) => call(`mkdir ${p}`, (cb) => fs.mkdir(p, cb)),
      });
    });
  });
}
