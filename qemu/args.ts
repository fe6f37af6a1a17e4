// The QEMU command line of a bankforge machine, as a pure function of its configuration: a q35
// PC (its AHCI controller only for an AHCI disk) with OVMF as its BIOS image (qemu/firmware-image.ts),
// no default devices (OVMF would first try an implicit DVD drive), standard VGA for a GOP
// framebuffer, the image as the first boot device, the serial console on QEMU's stdio and QMP on
// an inherited socket. An i6300esb watchdog is always there, as
// on the hardware the images are for: the loader arms it for a trial boot and its expiry resets
// the VM (never ends QEMU), so a hung trial rolls back by itself (docs/watchdog.md).

import { BankforgeError, EXIT } from '../support/errors.js';
import type { Accel } from './accel.js';
import type { DiskInfo } from './disk.js';

/** How a disk is attached: the buses OVMF boots from and the kernel drives. */
export const DISK_BUSES = ['virtio', 'usb', 'ahci', 'nvme'] as const;
export type DiskBus = typeof DISK_BUSES[number];

/** A disk attached besides the boot disk (never booted from: no bootindex). */
export interface ExtraDisk { path: string; format: DiskInfo['format']; sectorSize: DiskInfo['sectorSize']; bus: DiskBus; snapshot: boolean }

export interface MachineConfig {
  name: string;
  accel: Accel;
  memMiB: number;
  /** OVMF's variable store and code in one image (qemu/firmware-image.ts), mapped read-only. */
  firmware: string;
  disk: DiskInfo & { path: string; bus: DiskBus; snapshot: boolean };
  /** More disks, after the boot disk (none by default). */
  extraDisks?: readonly ExtraDisk[];
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

/**
 * The -drive and -device options of the disks: the boot disk as disk0 with bootindex=0, the
 * others as disk1... A USB disk gets the one qemu-xhci controller; an AHCI disk a port of q35's
 * built-in ICH9 controller (ide.0 to ide.5); an NVMe disk a controller of its own.
 */
export function diskArgs(disks: readonly (ExtraDisk & { boot?: boolean })[]): string[] {
  const args: string[] = [];
  let xhci = false;
  let ahciPort = 0;
  disks.forEach((d, i) => {
    const id = `disk${i}`;
    const boot = d.boot ? ',bootindex=0' : '';
    if (d.sectorSize === 4096 && d.bus === 'ahci') {
      throw new BankforgeError(`${d.path}: QEMU's AHCI disks (ide-hd) have 512-byte sectors only; a 4096-byte-sector image needs --bus virtio, nvme or usb`, EXIT.usage);
    }
    if (d.bus === 'ahci' && ahciPort === AHCI_PORTS) throw new BankforgeError(`more than ${AHCI_PORTS} AHCI disks: q35's controller has ${AHCI_PORTS} ports`, EXIT.usage);
    const blockSize = d.sectorSize === 4096 ? ',logical_block_size=4096,physical_block_size=4096' : '';
    args.push('-drive', `if=none,id=${id},format=${d.format},file=${optionValue(d.path)}${d.snapshot ? ',snapshot=on' : ''}`);
    switch (d.bus) {
      case 'usb':
        if (!xhci) args.push('-device', 'qemu-xhci,id=xhci');
        xhci = true;
        args.push('-device', `usb-storage,bus=xhci.0,drive=${id}${boot}${blockSize}`);
        break;
      case 'ahci':
        args.push('-device', `ide-hd,bus=ide.${ahciPort++},drive=${id}${boot}`);
        break;
      case 'nvme':
        // The serial number is required; one per controller.
        args.push('-device', `nvme,serial=bankforge${i},drive=${id}${boot}${blockSize}`);
        break;
      case 'virtio':
        args.push('-device', `virtio-blk-pci,drive=${id}${boot}${blockSize}`);
        break;
    }
  });
  return args;
}

/** Ports of q35's built-in AHCI controller (ICH9: six SATA ports). */
const AHCI_PORTS = 6;

export function machineArgs(c: MachineConfig): string[] {
  // q35's built-in AHCI controller only when a disk is on it: OVMF's AHCI driver waits on each
  // empty port, ~0.1 s of every firmware start (docs/qemu.md).
  const ahci = [c.disk, ...(c.extraDisks ?? [])].some((d) => d.bus === 'ahci');
  return [
    '-name', optionValue(c.name),
    '-machine', ahci ? 'q35' : 'q35,sata=off',
    '-accel', c.accel,
    // Under TCG an Intel CPU model: with QEMU's default (qemu64, whose vendor is AMD) OVMF takes
    // ~0.4 s longer to reach a loader, and the vendor alone decides (docs/qemu.md). Nehalem is a
    // real model whose every feature TCG implements. Under KVM, QEMU's default, as before.
    ...(c.accel === 'tcg' ? ['-cpu', 'Nehalem'] : []),
    '-m', String(c.memMiB),
    '-nodefaults',
    '-vga', 'std',
    ...(c.gui ? [] : ['-display', 'none']),
    // A ROM, not flash: OVMF keeps its variables in RAM, and the image reaches the TPM's registers
    // (docs/qemu.md, "Where a boot's first seconds go"). -bios takes no option syntax: no escaping.
    '-bios', c.firmware,
    ...diskArgs([{ ...c.disk, boot: true }, ...(c.extraDisks ?? [])]),
    '-device', 'i6300esb',
    '-action', 'watchdog=reset',
    // signal=off: a Ctrl-C on our terminal is ours to handle, not QEMU's.
    '-chardev', `stdio,id=serial0,signal=off${c.serialLog ? `,logfile=${optionValue(c.serialLog)},logappend=off` : ''}`,
    '-serial', 'chardev:serial0',
    '-chardev', `socket,id=qmp,fd=${c.qmpFd}`,
    '-mon', 'chardev=qmp,mode=control',
    ...c.extraArgs,
  ];
}
