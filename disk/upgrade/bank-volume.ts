// Reading the files of a bank's FAT volume through any ByteSource (a device, an image, the
// power-cut harness' overlay of recorded writes, a volume composed in memory), with our FatVolume
// reader.

import { FatError, FatVolume, type SectorDevice } from '../../partitions/fat/index.js';
import type { ByteSource } from '../../partitions/sink.js';
import type { Bytes, SectorSize } from '../../partitions/units.js';
import { STATE } from '../../partitions/bankstate.js';
import { checkBankContent, type BankContent } from '../../partitions/bank-files.js';

function regionDevice(src: ByteSource, offset: Bytes, size: Bytes, sectorSize: SectorSize): SectorDevice {
  return {
    sectorSize,
    sectorCount: size / sectorSize,
    async read(lba, dest) {
      (await src.read(offset + lba * sectorSize, dest.length)).copy(dest);
    },
  };
}

/**
 * Opens the FAT volume of the bank partition at `offset` (its size without the state area) and
 * checks its content as the loader would. Any FAT damage is reported as the bank not verifying.
 */
export async function checkBankVolume(src: ByteSource, offset: Bytes, partitionSize: Bytes, sectorSize: SectorSize, where: string): Promise<BankContent> {
  const vol = await FatVolume.open(regionDevice(src, offset, partitionSize - STATE.areaSize, sectorSize), { readOnly: true });
  try {
    return await checkBankContent(async (name) => {
      try {
        return await vol.readFile(name);
      } catch (e) {
        if (e instanceof FatError) return undefined;
        throw e;
      }
    }, where);
  } finally {
    await vol.close();
  }
}
