// What each command takes: its positionals and its options, as data. cli/main.ts hands them to
// yargs, which parses and lays out the help; cli/fast-args.ts reads the plainest lines with them
// without yargs (docs/architecture.md, "How the CLI starts"). One table, command strings
// included (commandLine), so the two cannot disagree about a name, an order, a type or a default.

import type { Options, PositionalOptions } from 'yargs';

export interface CommandShape {
  /** In the order of the command string in cli/main.ts (`flash <image> <device>`). */
  readonly positionals: readonly { readonly name: string; readonly spec: PositionalOptions }[];
  readonly options: Readonly<Record<string, Options>>;
}

/** The options the whole line takes, before or after a command. */
export const GLOBAL_OPTIONS = {
  quiet: { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing but errors and requested data' },
  debug: { type: 'boolean', default: false, describe: 'Show stack traces and tool output on errors' },
  json: { type: 'boolean', default: false, describe: 'Print the result as JSON on stdout; an error too, as {"error": {"code", "kind", "message", ...}} (docs/cli.md)' },
} as const satisfies Record<string, Options>;

/** build and bundle: a stock Linux payload for the banks (docs/boot-protocol.md, "Linux payloads"). */
const LINUX_OPTIONS = {
  'linux-kernel': { type: 'string', describe: "Put this Linux kernel (x86_64 bzImage with the EFI stub) in the banks instead of bankforge's; --cmdline is its command line" },
  initrd: { type: 'string', implies: 'linux-kernel', describe: 'The Linux kernel\'s initramfs (bankforge initramfs makes one)' },
} as const satisfies Record<string, Options>;

/** build and bundle: what the banks' boot.cfg says besides the kernel command line. */
const BOOT_CFG_OPTIONS = {
  'boot-timeout': { type: 'string', default: '3', describe: "Seconds the loader's menu waits (boot.cfg timeout); 0 = no menu" },
  watchdog: { type: 'string', describe: 'Seconds a trial boot may run before the kernel marks it good, else the hardware watchdog resets it (boot.cfg watchdog; default 60); 0 = none' },
} as const satisfies Record<string, Options>;

/** A positional every line gives: a plain word. */
const required = (name: string, describe: string) => ({ name, spec: { type: 'string', demandOption: true, describe } }) as const satisfies CommandShape['positionals'][number];

/** The image or device most commands work on. */
const TARGET = required('target', 'Image file or block device');

const SHAPES = {
  build: {
    positionals: [],
    options: {
      layout: { alias: 'l', type: 'string', default: 'esxi', describe: 'Layout name from layouts/ or a path to a layout JSON file' },
      out: { alias: 'o', type: 'string', describe: 'Image file to write (default: <layout>.img); the manifest goes beside it' },
      version: { alias: 'V', type: 'string', default: '0.0.0-dev', describe: 'Version recorded in the banks and the manifest' },
      'sector-size': { type: 'number', choices: [512, 4096], describe: "Sector size (default: the layout's)" },
      seed: { type: 'string', describe: "Seed for GUIDs and FAT serials (default: the layout's)" },
      kernelopt: { alias: 'cmdline', type: 'string', default: '', describe: "The kernel command line (boot.cfg kernelopt), e.g. 'panic.delay=3'" },
      ...LINUX_OPTIONS,
      ...BOOT_CFG_OPTIONS,
      json: { type: 'boolean', default: false, describe: 'Print the manifest as JSON on stdout' },
      sha256: { type: 'boolean', default: false, describe: 'Also record the sha256 of the whole image, holes included, in the manifest (costs the disk size, not the data; a gz or xz output records it anyway)' },
      format: { alias: 'f', type: 'string', array: true, default: ['raw'], describe: 'Outputs beside the raw image, comma-separated: raw, gz, xz, qcow2, vmdk, bmap (bmaptool 2.0 map). The raw image is always written' },
    },
  },
  inspect: {
    positionals: [
      required('image', 'Image file or block device'),
    ],
    options: {
      json: { type: 'boolean', default: false, describe: 'Print the report as JSON' },
      'sector-size': { type: 'number', choices: [512, 4096], describe: 'Sector size when the primary GPT is gone (default: detected)' },
    },
  },
  run: {
    positionals: [
      required('image', 'Disk image to boot: raw, qcow2 or vmdk (told by content)'),
    ],
    options: {
      snapshot: { type: 'boolean', default: false, describe: "Discard the guest's writes; the image is not changed" },
      timeout: { type: 'number', describe: 'Stop QEMU after this many seconds and exit 5' },
      expect: { type: 'string', describe: 'Stop QEMU and exit 0 as soon as a serial line matches this regular expression' },
      gui: { type: 'boolean', default: false, describe: 'Show the screen in a window (default: headless)' },
      bus: { type: 'string', choices: ['virtio', 'usb', 'ahci', 'nvme'], describe: 'How the disk is attached: virtio-blk (default), a USB stick (xHCI), SATA (AHCI) or NVMe' },
      usb: { type: 'boolean', default: false, describe: 'Shorthand for --bus usb' },
      mem: { type: 'number', default: 256, describe: 'Guest memory in MiB' },
      'sector-size': { type: 'number', choices: [512, 4096], describe: "Disk sector size (default: detected from the image's GPT)" },
      screenshot: { type: 'string', describe: 'Save the screen as PNG to this file when the run ends (the --expect match, --timeout, Ctrl-C)' },
    },
  },
  bundle: {
    positionals: [],
    options: {
      version: { alias: 'V', type: 'string', demandOption: true, describe: 'Version of the bank (boot.cfg build=, the bank state version)' },
      layout: { alias: 'l', type: 'string', default: 'esxi', describe: 'Layout whose bank partitions the bundle must fit' },
      out: { alias: 'o', type: 'string', demandOption: true, describe: 'Bundle file to write' },
      sign: { type: 'string', describe: 'Ed25519 private key (PEM) to sign the bundle with' },
      kernelopt: { alias: 'cmdline', type: 'string', default: '', describe: "The kernel command line (boot.cfg kernelopt)" },
      ...LINUX_OPTIONS,
      ...BOOT_CFG_OPTIONS,
      json: { type: 'boolean', default: false, describe: 'Print the manifest as JSON' },
    },
  },
  upgrade: {
    positionals: [
      TARGET,
      required('bundle', 'Bundle file (bankforge bundle)'),
    ],
    options: {
      pubkey: { type: 'string', describe: 'Ed25519 public key (PEM): refuse a bundle not signed by it' },
      'allow-unverified': { type: 'boolean', default: false, describe: 'Install a signed bundle without --pubkey, its signature unchecked (refused otherwise)' },
      tries: { type: 'string', default: '3', describe: 'Trial boots before the loader rolls back (1-15)' },
      force: { type: 'boolean', default: false, describe: 'Install even the version already booting, or while the booting bank is still on trial' },
      json: { type: 'boolean', default: false, describe: 'Print the result as JSON' },
    },
  },
  initramfs: {
    positionals: [],
    options: {
      out: { alias: 'o', type: 'string', demandOption: true, describe: 'File to write (e.g. initrd.img)' },
      dir: { type: 'string', array: true, describe: 'Host directory copied to the root (repeatable; later ones replace files of earlier ones)' },
      busybox: { type: 'string', describe: 'A static busybox binary: /bin/busybox, with /bin/sh linked to it' },
      'state-tool': { type: 'boolean', default: true, describe: 'Add the mark-good tool as /sbin/bankforge-state (compiled with musl-gcc); --no-state-tool leaves it out' },
    },
  },
  status: {
    positionals: [
      TARGET,
    ],
    options: {
      json: { type: 'boolean', default: false, describe: 'Print the report as JSON' },
    },
  },
  rollback: {
    positionals: [
      TARGET,
    ],
    options: {},
  },
  'mark-good': {
    positionals: [
      TARGET,
    ],
    options: {},
  },
  coredump: {
    positionals: [
      TARGET,
    ],
    options: {
      seq: { type: 'number', describe: 'Show (or extract) only the dump with this sequence number' },
      all: { type: 'boolean', default: false, describe: 'Include dumps cleared by --clear' },
      kernel: { type: 'string', describe: 'Kernel ELF with debug info for the backtrace (default: <target>.kernel.elf, else kernel.elf in the bank that crashed)' },
      'log-lines': { type: 'number', default: 25, describe: 'Lines of the kernel log to show' },
      json: { type: 'boolean', default: false, describe: 'Print the dumps as JSON' },
      extract: { type: 'string', describe: 'Write each dump to DIR/seq-N/: header.json, registers.txt, backtrace.txt, log.txt, body.bin' },
      clear: { type: 'boolean', default: false, describe: 'Free every slot (writes the partition header only); the next boot reports no dumps' },
    },
  },
  config: {
    positionals: [
      required('target', 'Image file or device'),
      { name: 'action', spec: { type: 'string', choices: ['get', 'set'], demandOption: true, describe: 'get: print settings; set: write them for the next boot' } },
      { name: 'settings', spec: { type: 'string', array: true, describe: 'get: KEY...; set: KEY=VALUE...' } },
    ],
    options: {
      json: { type: 'boolean', default: false, describe: 'get: print JSON (with the record seq and slot)' },
    },
  },
  devices: {
    positionals: [],
    options: {
      json: { type: 'boolean', default: false, describe: 'Print the list as JSON' },
    },
  },
  flash: {
    positionals: [
      required('image', 'Raw image, or .gz / .xz / .zst of one; a .bmap and manifest beside it are used'),
      required('device', 'The whole disk, e.g. /dev/sdb (see bankforge devices)'),
    ],
    options: {
      yes: { alias: 'y', type: 'boolean', default: false, describe: 'Do not ask for confirmation (required without a terminal)' },
      verify: { type: 'boolean', default: true, describe: 'Read everything back from the device after writing (--no-verify skips it)' },
      'allow-fixed': { type: 'boolean', default: false, describe: 'Also write disks that are neither removable nor on USB (internal disks)' },
    },
  },
} satisfies Record<string, CommandShape>;

export type CommandName = keyof typeof SHAPES;

export const COMMAND_SHAPES: Readonly<Record<CommandName, CommandShape>> = SHAPES;

/** `name` when it is a command's (own property: `__proto__` and the like are not). */
export const commandNamed = (name: string | undefined): CommandName | undefined =>
  name !== undefined && Object.hasOwn(COMMAND_SHAPES, name) ? (name as CommandName) : undefined;

/** The command as yargs is given it: its name and positionals (`upgrade <target> <bundle>`, `config <target> <action> [settings..]`). */
export function commandLine(name: CommandName): string {
  return [name, ...COMMAND_SHAPES[name].positionals.map((p) => (p.spec.demandOption ? `<${p.name}>` : `[${p.name}${p.spec.array ? '..' : ''}]`))].join(' ');
}
