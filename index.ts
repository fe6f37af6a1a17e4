// bankforge as a library: the operations the CLI (cli/) offers, without the command line.
// Building is builder/; everything done to an existing image or device is disk/; the QEMU
// runner is qemu/ (its own entry point, qemu/index.ts). Layers: docs/architecture.md.

export { build, type BuildOptions, type BuildResult } from './builder/build.js';
export { createBundle, type BundleOptions } from './builder/bundle/create.js';
export { buildInitramfs, makeInitramfs, type InitramfsOptions } from './builder/initramfs/initramfs.js';
export { loadPrivateKey, loadPublicKey } from './builder/bundle/keys.js';
export { writeOutputs, type BuiltImage } from './builder/outputs/write.js';
export { parseFormats, type OutputFormat } from './builder/outputs/formats.js';
export { inspect, type InspectReport } from './disk/inspect.js';
export { status, type StatusReport, type BankStatus } from './disk/status.js';
export { upgrade, type UpgradeOptions, type UpgradeResult } from './disk/upgrade/upgrade.js';
export { rollback, type RollbackResult } from './disk/rollback.js';
export { markGood, type MarkGoodResult } from './disk/mark-good.js';
export { getConfig, setConfig, type ConfigReport } from './disk/config.js';
export { readDisk as readCoredumps } from './disk/coredump/read.js';
export { clearDumps as clearCoredumps, renderDump, dumpJson, extractDump } from './disk/coredump/report.js';
export { flash, type FlashOptions, type FlashResult } from './disk/flash/flash.js';
export { listDevices, describeDevice, type DeviceInfo } from './disk/flash/devices.js';
export { BankforgeError, LayoutError, type ErrorLocation } from './support/errors.js';
export { type Progress } from './support/progress.js';
export { EXIT, type ExitCode } from './support/exit-codes.js';
