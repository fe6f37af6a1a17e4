// Which bank partitions a bundle fits: for each sector size a layout can be built with, each of
// its bank partitions whose FAT volume (the partition minus the 8 KiB state area) can hold the
// files. Recorded in the manifest; upgrade installs only into a bank that matches an entry.

import { LayoutError } from '../../support/errors.js';
import { placeLayout } from '../layout/place.js';
import type { LayoutSpec } from '../layout/types.js';
import { FatError, planFatVolume, type FatTree } from '../../partitions/fat/index.js';
import { STATE } from '../../partitions/bankstate.js';
import type { SectorSize } from '../../partitions/units.js';
import type { BundleFit } from './format.js';

const SECTOR_SIZES: SectorSize[] = [512, 4096];

export function bundleFits(layout: LayoutSpec, tree: FatTree, epoch: number): BundleFit[] {
  const fits: BundleFit[] = [];
  for (const sectorSize of SECTOR_SIZES) {
    let placed;
    try {
      placed = placeLayout(layout, { sectorSize });
    } catch (e) {
      if (e instanceof LayoutError) continue; // this layout cannot be built with that sector size
      throw e;
    }
    for (const p of placed.partitions) {
      if (!p.spec.bank || p.spec.filesystem === 'raw') continue;
      const fit: BundleFit = { partitionSize: p.size, sectorSize, filesystem: p.spec.filesystem };
      if (fits.some((f) => f.partitionSize === fit.partitionSize && f.sectorSize === sectorSize && f.filesystem === fit.filesystem)) continue;
      try {
        planFatVolume({ type: fit.filesystem, size: p.size - STATE.areaSize, sectorSize, label: p.spec.label, serial: 0, timestamp: epoch }, tree);
        fits.push(fit);
      } catch (e) {
        if (!(e instanceof FatError)) throw e;
      }
    }
  }
  return fits;
}
