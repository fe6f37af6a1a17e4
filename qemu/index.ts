// The QEMU runner's public API: boot an image under OVMF, wait for serial lines, type, reset,
// screenshot, kill. See docs/qemu.md.

export { Machine, DEFAULT_MEM_MIB, STOP_GRACE_MS, type MachineOptions } from './machine.js';
export { DISK_BUSES, type DiskBus } from './args.js';
export { SerialTimeoutError, SerialClosedError, DEFAULT_WAIT_MS, type Pattern, type WaitOptions } from './serial.js';
export { QmpError } from './qmp.js';
export { chooseAccel, probeKvm, type Accel, type AccelChoice, type KvmProbe } from './accel.js';
export { readScreen, parsePpm, parseFont, kernelFont, screenString, ScreenTimeoutError, UNKNOWN_CELL, type Screen, type ScreenCell, type Font, type Rgb } from './screen.js';
export { Terminal, terminalOf } from './terminal.js';
