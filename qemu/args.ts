// The QEMU command line of a bankforge machine, as a pure function of its configuration: a q35
// PC with OVMF in two flash chips, no default devices (OVMF would first try an implicit DVD
// drive), standard VGA for a GOP framebuffer, the image as the first boot device, the serial
// console on QEMU's stdio and QMP on an inherited socket.

import type { Accel } from './accel.js';
import type { DiskInfo } from './disk.js';

export type DiskBus = 'virtio' | 'usb';

export interface MachineConfig {
  name: string;
  accel: Accel;
  memMiB: number;
  ovmfCode: string;
  ovmfVars: string;
  disk: DiskInfo & { path: string; bus: DiskBus; snapshot: boolean };
  /** A window (QEMU's default display) instead of `-display none`. */
  gui: boolean;
  /** QEMU also writes the serial output here. */
  serialLog: string | undefined;
  /** The file descriptor (in QEMU) of a connected socket for QMP. */
  qmpFd: number;
  extraArgs: readonly string[];
}

/** QEMU option values separate keys with commas; a comma inside a value is written twice. */
export function optionValue(s: string): string {
  return s.replaceAll(',', ',,');
}

/** The devices that attach drive `disk0` on its bus, as the first boot device. */
export function diskDevices(disk: MachineConfig['disk']): string[] {
  const blockSize = disk.sectorSize === 4096 ? ',logical_block_size=4096,physical_block_size=4096' : '';
  return disk.bus === 'usb'
    ? ['-device', 'qemu-xhci,id=xhci', '-device', `usb-storage,bus=xhci.0,drive=disk0,bootindex=0${blockSize}`]
    : ['-device', `virtio-blk-pci,drive=disk0,bootindex=0${blockSize}`];
}

export function machineArgs(c: MachineConfig): string[] {
  return [
    '-name', optionValue(c.name),
    '-machine', 'q35',
    '-accel', c.accel,
    '-m', String(c.memMiB),
    '-nodefaults',
    '-vga', 'std',
    ...(c.gui ? [] : ['-display', 'none']),
    '-drive', `if=pflash,unit=0,format=raw,readonly=on,file=${optionValue(c.ovmfCode)}`,
    '-drive', `if=pflash,unit=1,format=raw,file=${optionValue(c.ovmfVars)}`,
    '-drive', `if=none,id=disk0,format=${c.disk.format},file=${optionValue(c.disk.path)}${c.disk.snapshot ? ',snapshot=on' : ''}`,
    ...diskDevices(c.disk),
    // signal=off: a Ctrl-C on our terminal is ours to handle, not QEMU's.
    '-chardev', `stdio,id=serial0,signal=off${c.serialLog ? `,logfile=${optionValue(c.serialLog)},logappend=off` : ''}`,
    '-serial', 'chardev:serial0',
    '-chardev', `socket,id=qmp,fd=${c.qmpFd}`,
    '-mon', 'chardev=qmp,mode=control',
    ...c.extraArgs,
  ];
}
