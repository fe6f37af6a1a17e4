// Sector-addressed access to a FAT volume that lives somewhere inside a host file (an image's partition
// or a whole volume file): what the reader and fatfs work through.

import { open } from 'node:fs/promises';
import type { Bytes, Lba, Sectors, SectorSize } from '../units.js';
import { FatError } from './types.js';

export interface SectorDevice {
  sectorSize: SectorSize;
  sectorCount: Sectors;
  /** Fills `dest` (a whole number of sectors) from `lba` on. */
  read(lba: Lba, dest: Buffer): Promise<void>;
  write?(lba: Lba, data: Buffer): Promise<void>;
}

function checkRange(dev: SectorDevice, lba: Lba, length: Bytes, op: string): void {
  if (length % dev.sectorSize !== 0) throw new FatError(`${op} of ${length} bytes is not a whole number of ${dev.sectorSize}-byte sectors`);
  const sectors = length / dev.sectorSize;
  if (!Number.isInteger(lba) || lba < 0 || lba + sectors > dev.sectorCount) {
    throw new FatError(`${op} of sectors ${lba}..${lba + sectors - 1} is outside the device's ${dev.sectorCount} sectors`);
  }
}

export async function fileSectorDevice(
  path: string, startByte: Bytes, sizeBytes: Bytes, sectorSize: SectorSize, writable: boolean,
): Promise<SectorDevice & { close(): Promise<void> }> {
  if (sizeBytes % sectorSize !== 0 || startByte % sectorSize !== 0) {
    throw new FatError(`region ${startByte}+${sizeBytes} of ${path} is not aligned to ${sectorSize}-byte sectors`);
  }
  const fh = await open(path, writable ? 'r+' : 'r');
  const dev: SectorDevice & { close(): Promise<void> } = {
    sectorSize,
    sectorCount: sizeBytes / sectorSize,
    async read(lba, dest) {
      checkRange(dev, lba, dest.length, 'read');
      let done = 0;
      while (done < dest.length) {
        const { bytesRead } = await fh.read(dest, done, dest.length - done, startByte + lba * sectorSize + done);
        // A sparse image may be shorter than its partition table says: what lies past its end reads as zeros.
        if (bytesRead === 0) { dest.fill(0, done); break; }
        done += bytesRead;
      }
    },
    close: () => fh.close(),
  };
  if (writable) {
    dev.write = async (lba, data) => {
      checkRange(dev, lba, data.length, 'write');
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await fh.write(data, done, data.length - done, startByte + lba * sectorSize + done);
        done += bytesWritten;
      }
    };
  }
  return dev;
}
