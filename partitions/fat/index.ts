// The FAT module's public surface: formatting/writing a volume from a file tree, and reading or
// editing an existing volume through fatfs.

export * from './types.js';
export { fatGeometry } from './geometry.js';
export { planFatVolume, type FatPlan, type PlannedDir, type PlannedFile, type PlannedNode } from './plan.js';
export { writeFatVolume } from './writer.js';
export { parseBootSector, type BootSector, type VolumeLayout } from './bootsector.js';
export { FatVolume, fileSectorDevice, type FatInfo, type FatDirEntry, type SectorDevice } from './volume.js';
