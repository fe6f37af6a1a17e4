// The refusal rules of `bankforge flash`, checked before anything is written. Each returns the
// reason in words that name the device and what was seen; docs/flash.md lists them.

import type { Bytes } from '../../partitions/units.js';
import type { DeviceInfo } from './devices.js';
import { FlashRefusal } from './errors.js';
import { formatBytes } from './progress.js';

export interface TargetRules {
  /** --allow-fixed: also write disks that are neither removable nor on USB. */
  allowFixed: boolean;
}

/**
 * Transports that are removable in practice even when sysfs says otherwise: USB hard disks and
 * many USB sticks report removable=0. Loop devices are files: the test target (docs/flash.md).
 */
const PLUGGABLE = new Set(['usb', 'loop']);

export function isFlashableWithoutOverride(d: DeviceInfo): boolean {
  return d.removable || PLUGGABLE.has(d.transport);
}

/** Throws FlashRefusal with every reason that applies, or returns. */
export function checkTarget(d: DeviceInfo, image: { path: string; size: Bytes; sectorSize: number }, rules: TargetRules): void {
  const reasons: string[] = [];
  const mounts = d.mounted.map((m) => `${m.device} on ${m.mountpoint}`).join(', ');
  if (d.system) reasons.push(`it holds the running system (${mounts})`);
  else if (d.mounted.length) reasons.push(`it has mounted filesystems (${mounts}); unmount them first`);
  if (d.holders.length && !d.mounted.length) reasons.push(`it is in use by ${d.holders.map((h) => `/dev/${h}`).join(', ')} (LVM, dm-crypt, RAID or a loop device over it); stop them first`);
  if (!rules.allowFixed && !isFlashableWithoutOverride(d)) {
    reasons.push(`it is a fixed ${d.transport} disk (not removable, not USB); pass --allow-fixed if you really mean it`);
  }
  if (d.readOnly) reasons.push('it is read-only (write-protect switch?)');
  if (d.size < image.size) reasons.push(`it is too small: ${formatBytes(d.size)} (${d.size} bytes), the image needs ${formatBytes(image.size)} (${image.size} bytes)`);
  if (d.sectorSize !== image.sectorSize) {
    reasons.push(`its logical sectors are ${d.sectorSize} bytes and the image was built for ${image.sectorSize}-byte sectors (rebuild with --sector-size ${d.sectorSize})`);
  }
  if (reasons.length) throw new FlashRefusal(`refusing to write ${image.path} to ${d.path}${d.model ? ` (${d.model})` : ''}: ${reasons.join('; ')}. Nothing was written.`);
}
