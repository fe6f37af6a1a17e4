// Reading and writing the host configuration record of an image or device, where the kernel
// keeps it (partitions/config-record.ts): found through the GPT, by the store partition's name. A write puts the
// next copy (seq + 1) into the slot that does not hold the current one and syncs, as the
// kernel does, so an interrupted write leaves the previous copy. Writes go through the block-device
// layer (device.ts), which refuses a mounted device.

import { BankforgeError, EXIT } from '../support/errors.js';
import { openBlockDevice, type BlockDevice } from './device.js';
import { openFileSource, readTargetGpt } from './file-source.js';
import type { SectorSize } from '../partitions/units.js';
import { AREA_MAGIC, checkSetting, CONFIG, defaults, encodeRecord, holdsConfig, isSetting, KEYS, readSlots, type ConfigView, type Settings } from '../partitions/config-record.js';

export interface ConfigArea {
  /** Byte offsets of the two slots in the image. */
  slots: [number, number];
  sectorSize: SectorSize;
  view: ConfigView;
}

export async function readConfigArea(path: string): Promise<ConfigArea> {
  const src = await openFileSource(path);
  try {
    const gpt = await readTargetGpt(src, path);
    const p = gpt.partitions.find((q) => holdsConfig(q.name));
    if (!p) throw new BankforgeError(`${path}: no partition named "${CONFIG.partition}" holds a host configuration`);
    const end = (p.lastLba + 1) * gpt.sectorSize;
    const size = end - p.firstLba * gpt.sectorSize;
    if (size < 2 * CONFIG.areaSize || end > src.size) throw new BankforgeError(`${path}: the ${CONFIG.partition} partition is too small for a configuration area`);
    const area = end - CONFIG.areaSize;
    if (!(await src.read(area, AREA_MAGIC.length)).equals(AREA_MAGIC)) {
      throw new BankforgeError(`${path}: the ${CONFIG.partition} partition has no configuration area (its FAT fills it: the image was built without room for one)`);
    }
    const slots: [number, number] = [area + CONFIG.markerSize, area + CONFIG.markerSize + CONFIG.slotSize];
    const view = readSlots(await src.read(slots[0], CONFIG.slotSize), await src.read(slots[1], CONFIG.slotSize));
    return { slots, sectorSize: gpt.sectorSize, view };
  } finally {
    await src.close();
  }
}

/** The settings in effect: the current record's, or the defaults when there is none. */
export function settingsOf(area: ConfigArea): Settings {
  return Object.assign(defaults(), area.view.record?.settings);
}

/** Write `settings` as the next copy on an open device (the power-cut harness passes a recorder); returns the slot and seq written. */
export async function writeConfigTo(dev: BlockDevice, area: ConfigArea, settings: Settings): Promise<{ slot: 0 | 1; seq: number }> {
  const slot = area.view.current === undefined ? 0 : ((area.view.current ^ 1) as 0 | 1);
  const seq = ((area.view.record?.seq ?? 0) + 1) >>> 0;
  const rec = encodeRecord({ seq, settings });
  // Whole sectors, as the kernel writes them.
  const buf = Buffer.alloc(Math.ceil(rec.length / area.sectorSize) * area.sectorSize);
  rec.copy(buf);
  await dev.write(area.slots[slot], buf);
  await dev.flush();
  return { slot, seq };
}

export interface ConfigReport {
  /** Whether a record is on the disk; without one these are the defaults the first boot writes. */
  saved: boolean;
  seq: number | null;
  slot: 0 | 1 | null;
  settings: Settings;
}

/** The settings in effect on a disk: `keys` of them, or all. An unknown key is a usage error. */
export async function getConfig(path: string, keys: readonly string[] = []): Promise<ConfigReport> {
  const area = await readConfigArea(path);
  const settings = settingsOf(area);
  for (const k of keys) if (!isSetting(k)) throw new BankforgeError(`unknown setting ${k} (known: ${KEYS.map((x) => x.name).join(', ')})`, EXIT.usage);
  const rec = area.view.record;
  const shown = keys.length ? keys : KEYS.map((x) => x.name);
  return { saved: !!rec, seq: rec?.seq ?? null, slot: area.view.current ?? null, settings: Object.fromEntries(shown.map((k) => [k, settings[k]!])) };
}

/** Checks every change as the kernel would, then writes them all as the next record. */
export async function setConfig(path: string, changes: Settings): Promise<{ slot: 0 | 1; seq: number }> {
  if (!Object.keys(changes).length) throw new BankforgeError('config set: give KEY=VALUE settings', EXIT.usage);
  for (const [key, value] of Object.entries(changes)) {
    const err = checkSetting(key, value);
    if (err) throw new BankforgeError(`config set: ${err}`, EXIT.usage);
  }
  const dev = await openBlockDevice(path, (await readConfigArea(path)).sectorSize);
  try {
    // Read again under the write lock: the record to follow is the one on the disk now.
    const area = await readConfigArea(path);
    return await writeConfigTo(dev, area, Object.assign(settingsOf(area), changes));
  } finally {
    await dev.close();
  }
}
