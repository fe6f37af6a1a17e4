// A typed, promise-returning face for the CommonJS, callback-style `fatfs` package (0.10.8), over our
// SectorDevice. Only the calls the volume driver uses are declared.

import { createRequire } from 'node:module';
import type { SectorDevice } from './device.js';
import { FatError } from './types.js';

interface FatfsDriver {
  sectorSize: number;
  numSectors: number;
  readSectors(i: number, dest: Buffer, cb: (e: Error | null) => void): void;
  writeSectors: ((i: number, data: Buffer, cb: (e: Error | null) => void) => void) | null;
}

type Callback<T> = (e: (Error & { code?: string }) | null, value: T) => void;

interface FatfsCallbackApi {
  readFile(path: string, opts: object, cb: Callback<Buffer>): void;
  writeFile(path: string, data: Buffer, opts: object, cb: Callback<void>): void;
  mkdir(path: string, cb: Callback<void>): void;
  readdir(path: string, cb: Callback<string[]>): void;
}

interface FatfsModule {
  createFileSystem(driver: FatfsDriver, opts: object, cb: (e: Error | null) => void): FatfsCallbackApi;
}

// Required on first mount, not at import: fatfs builds its on-disk structs when loaded, a cost
// that commands reading no FAT volume (status, rollback, mark-good) should not pay at start-up.
let fatfs: FatfsModule | undefined;
const loadFatfs = (): FatfsModule => (fatfs ??= createRequire(import.meta.url)('fatfs') as FatfsModule);

export interface Fatfs {
  readFile(path: string): Promise<Buffer>;
  writeFile(path: string, data: Buffer): Promise<void>;
  mkdir(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
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

/**
 * Mounts fatfs on `dev`. `claimedSectors` is what fatfs is told the device holds: fatfs refuses a BPB larger
 * than that, so a read-only caller may pass the BPB's own count to be able to look at such a volume.
 */
export function mountFatfs(dev: SectorDevice, readOnly: boolean, claimedSectors: number): Promise<Fatfs> {
  const write = dev.write?.bind(dev);
  const driver: FatfsDriver = {
    sectorSize: dev.sectorSize,
    numSectors: claimedSectors,
    readSectors(i, dest, cb) {
      const available = Math.max(0, Math.min(dest.length / dev.sectorSize, dev.sectorCount - i));
      dest.fill(0, available * dev.sectorSize);
      (available > 0 ? dev.read(i, dest.subarray(0, available * dev.sectorSize)) : Promise.resolve()).then(() => cb(null), cb);
    },
    writeSectors: readOnly || !write ? null : (i, data, cb) => void write(i, data).then(() => cb(null), cb),
  };
  return new Promise((resolve, reject) => {
    // fatfs needs noatime (reads would otherwise write access dates) and gets umask etc. it only reports.
    const fs = loadFatfs().createFileSystem(driver, { ro: readOnly, noatime: true }, (e) => {
      if (e) return reject(new FatError(`fatfs cannot mount the volume: ${e.message}`));
      resolve({
        // An options object, never an encoding string: fatfs' readFile('utf8') throws inside fatfs.
        readFile: (p) => call(`readFile ${p}`, (cb) => fs.readFile(p, {}, cb)),
        writeFile: (p, d) => call(`writeFile ${p}`, (cb) => fs.writeFile(p, d, {}, cb)),
        mkdir: (p) => call(`mkdir ${p}`, (cb) => fs.mkdir(p, cb)),
        readdir: (p) => call(`readdir ${p}`, (cb) => fs.readdir(p, cb)),
      });
    });
  });
}
