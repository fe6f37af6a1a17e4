// The bankforge command line: yargs for parsing and help, one module per command under
// commands/, each loaded only when its command runs so start-up stays lean.

import type { Argv } from 'yargs';
import { BankforgeError, EXIT } from '../support/errors.js';
import { exitCodesEpilogue } from '../support/exit-codes.js';
import { toolVersion } from '../support/package-info.js';
import { DIRECT_COMMANDS, main as directMain } from './direct.js';
import { directArgs } from './direct-args.js';
import { report } from './report.js';
import { HELP_WIDTH, terminalColumns } from './static-help.js';
import { printOut, settleOutput } from './stdout.js';

export interface GlobalOptions { quiet: boolean; debug: boolean }

/** build and bundle: a stock Linux payload for the banks (docs/boot-protocol.md, "Linux payloads"). */
const LINUX_OPTIONS = {
  'linux-kernel': { type: 'string', describe: "Put this Linux kernel (x86_64 bzImage with the EFI stub) in the banks instead of bankforge's; --cmdline is its command line" },
  initrd: { type: 'string', implies: 'linux-kernel', describe: 'The Linux kernel\'s initramfs (bankforge initramfs makes one)' },
} as const;

/**
 * Each command's module, loaded only when it runs, after yargs has parsed (main; the direct lines
 * are not given to yargs, cli/direct.ts runs them). yargs is given
 * no handlers, so no handler can ask for a command's help after parsing, and the bundled yargs
 * does not lay that help out on every run (scripts/bundle-cli.mjs, no-help-cache).
 */
const COMMAND_MODULES: Readonly<Record<string, () => Promise<{ run(a: unknown): Promise<void> }>>> = {
  build: () => import('./commands/build.js'),
  inspect: () => import('./commands/inspect.js'),
  run: () => import('./commands/run.js'),
  bundle: () => import('./commands/bundle.js'),
  upgrade: () => import('./commands/upgrade.js'),
  initramfs: () => import('./commands/initramfs.js'),
  ...DIRECT_COMMANDS,
  coredump: () => import('./commands/coredump.js'),
  config: () => import('./commands/config.js'),
  devices: () => import('./commands/devices.js'),
  flash: () => import('./commands/flash.js'),
};

function commands(y: Argv): Argv {
  return y
    .scriptName('bankforge')
    .usage('$0 <command> [options]\n\nBuild, inspect, boot, flash and upgrade ESXi-style A/B disk images.')
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing but errors and requested data' })
    .option('debug', { type: 'boolean', default: false, describe: 'Show stack traces and tool output on errors' })
    .option('json', { type: 'boolean', default: false, describe: 'Print the result as JSON on stdout; an error too, as {"error": {"code", "kind", "message", ...}} (docs/cli.md)' })
    .command('build', 'Build a disk image from a layout', (c) => c
      .option('layout', { alias: 'l', type: 'string', default: 'esxi', describe: 'Layout name from layouts/ or a path to a layout JSON file' })
      .option('out', { alias: 'o', type: 'string', describe: 'Image file to write (default: <layout>.img); the manifest goes beside it' })
      .option('version', { alias: 'V', type: 'string', default: '0.0.0-dev', describe: 'Version recorded in the banks and the manifest' })
      .option('sector-size', { type: 'number', choices: [512, 4096], describe: "Sector size (default: the layout's)" })
      .option('seed', { type: 'string', describe: "Seed for GUIDs and FAT serials (default: the layout's)" })
      .option('kernelopt', { alias: 'cmdline', type: 'string', default: '', describe: "The kernel command line (boot.cfg kernelopt), e.g. 'panic.delay=3'" })
      .options(LINUX_OPTIONS)
      .option('boot-timeout', { type: 'string', default: '3', describe: "Seconds the loader's menu waits (boot.cfg timeout); 0 = no menu" })
      .option('watchdog', { type: 'string', describe: 'Seconds a trial boot may run before the kernel marks it good, else the hardware watchdog resets it (boot.cfg watchdog; default 60); 0 = none' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the manifest as JSON on stdout' })
      .option('sha256', { type: 'boolean', default: false, describe: 'Also record the sha256 of the whole image, holes included, in the manifest (costs the disk size, not the data; a gz or xz output records it anyway)' })
      .option('format', { alias: 'f', type: 'string', array: true, default: ['raw'], describe: 'Outputs beside the raw image, comma-separated: raw, gz, xz, qcow2, vmdk, bmap (bmaptool 2.0 map). The raw image is always written' })
      .example('$0 build', 'Build the default (ESXi) layout into esxi.img')
      .example('$0 build --format raw,xz,bmap', 'Also write esxi.img.xz and esxi.img.bmap (for bankforge flash or bmaptool copy)')
      .example('$0 build --layout small --out stick.img --version 1.2.0', 'Build the small layout as version 1.2.0')
      .example('SOURCE_DATE_EPOCH=1700000000 $0 build --sector-size 4096', 'Build for a 4Kn disk with fixed timestamps'))
    .command('inspect <image>', 'Show the partition table, filesystems and files of an image', (c) => c
      .positional('image', { type: 'string', demandOption: true, describe: 'Image file or block device' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the report as JSON' })
      .option('sector-size', { type: 'number', choices: [512, 4096], describe: 'Sector size when the primary GPT is gone (default: detected)' })
      .example('$0 inspect esxi.img', 'List partitions, FAT volumes and their files')
      .example('$0 inspect esxi.img --json | jq .warnings', 'Only the warnings'))
    .command('run <image>', 'Boot an image in QEMU (UEFI, q35) with its serial console on this terminal', (c) => c
      .positional('image', { type: 'string', demandOption: true, describe: 'Disk image to boot: raw, qcow2 or vmdk (told by content)' })
      .option('snapshot', { type: 'boolean', default: false, describe: "Discard the guest's writes; the image is not changed" })
      .option('timeout', { type: 'number', describe: 'Stop QEMU after this many seconds and exit 5' })
      .option('expect', { type: 'string', describe: 'Stop QEMU and exit 0 as soon as a serial line matches this regular expression' })
      .option('gui', { type: 'boolean', default: false, describe: 'Show the screen in a window (default: headless)' })
      .option('bus', { type: 'string', choices: ['virtio', 'usb', 'ahci', 'nvme'], describe: 'How the disk is attached: virtio-blk (default), a USB stick (xHCI), SATA (AHCI) or NVMe' })
      .option('usb', { type: 'boolean', default: false, describe: 'Shorthand for --bus usb' })
      .option('mem', { type: 'number', default: 256, describe: 'Guest memory in MiB' })
      .option('sector-size', { type: 'number', choices: [512, 4096], describe: "Disk sector size (default: detected from the image's GPT)" })
      .option('screenshot', { type: 'string', describe: 'Save the screen as PNG to this file when the run ends (the --expect match, --timeout, Ctrl-C)' })
      .example('$0 run esxi.img --snapshot', 'Boot and use the serial console here; Ctrl-] or Ctrl-C quits')
      .example('$0 run esxi.img --bus nvme', 'Boot it as the NVMe disk of a machine')
      .example("$0 run esxi.img --snapshot --expect 'kernel: ready' --timeout 60", 'Smoke test: exit 0 on the line, 5 if it has not come within 60 s')
      .epilogue(`${exitCodesEpilogue('run')} 0 is also QEMU exiting by itself with status 0; 3 includes an image QEMU refuses and QEMU or OVMF missing.`))
    .command('bundle', "Pack one bank's content for a version (boot.cfg, kernel, SHA256SUMS) with a manifest and an optional signature", (c) => c
      .option('version', { alias: 'V', type: 'string', demandOption: true, describe: 'Version of the bank (boot.cfg build=, the bank state version)' })
      .option('layout', { alias: 'l', type: 'string', default: 'esxi', describe: 'Layout whose bank partitions the bundle must fit' })
      .option('out', { alias: 'o', type: 'string', demandOption: true, describe: 'Bundle file to write' })
      .option('sign', { type: 'string', describe: 'Ed25519 private key (PEM) to sign the bundle with' })
      .option('kernelopt', { alias: 'cmdline', type: 'string', default: '', describe: "The kernel command line (boot.cfg kernelopt)" })
      .options(LINUX_OPTIONS)
      .option('boot-timeout', { type: 'string', default: '3', describe: "Seconds the loader's menu waits (boot.cfg timeout); 0 = no menu" })
      .option('watchdog', { type: 'string', describe: 'Seconds a trial boot may run before the kernel marks it good, else the hardware watchdog resets it (boot.cfg watchdog; default 60); 0 = none' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the manifest as JSON' })
      .example('$0 bundle --version 1.3.0 -o 1.3.0.bfb', 'Bundle version 1.3.0 for the default layout')
      .example('openssl genpkey -algorithm ed25519 -out key.pem && $0 bundle -V 1.3.0 --sign key.pem -o 1.3.0.bfb', 'Signed')
      .epilogue('Format: docs/bundle.md.'))
    .command('upgrade <target> <bundle>', 'Install a bundle into the inactive bank of an image or device; it boots next, on trial', (c) => c
      .positional('target', { type: 'string', demandOption: true, describe: 'Image file or block device' })
      .positional('bundle', { type: 'string', demandOption: true, describe: 'Bundle file (bankforge bundle)' })
      .option('pubkey', { type: 'string', describe: 'Ed25519 public key (PEM): refuse a bundle not signed by it' })
      .option('allow-unverified', { type: 'boolean', default: false, describe: 'Install a signed bundle without --pubkey, its signature unchecked (refused otherwise)' })
      .option('tries', { type: 'string', default: '3', describe: 'Trial boots before the loader rolls back (1-15)' })
      .option('force', { type: 'boolean', default: false, describe: 'Install even the version already booting, or while the booting bank is still on trial' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the result as JSON' })
      .example('$0 upgrade /dev/sdb 1.3.0.bfb --pubkey pub.pem', 'Upgrade a stick, checking the signature')
      .epilogue('Procedure and power-cut safety: docs/upgrade.md. Nothing is written unless the bundle verifies and fits.'))
    .command('initramfs', 'Make a gzip-compressed cpio initramfs for a Linux payload, reproducibly', (c) => c
      .option('out', { alias: 'o', type: 'string', demandOption: true, describe: 'File to write (e.g. initrd.img)' })
      .option('dir', { type: 'string', array: true, describe: 'Host directory copied to the root (repeatable; later ones replace files of earlier ones)' })
      .option('busybox', { type: 'string', describe: 'A static busybox binary: /bin/busybox, with /bin/sh linked to it' })
      .option('state-tool', { type: 'boolean', default: true, describe: 'Add the mark-good tool as /sbin/bankforge-state (compiled with musl-gcc); --no-state-tool leaves it out' })
      .example('$0 initramfs --busybox .cache/linux/busybox-static/bin/busybox --dir examples/linux/rootfs -o initrd.img', 'busybox, an /init and the mark-good tool')
      .epilogue('Format and what the loader hands to Linux: docs/linux.md.'))
    .command('status <target>', 'Which bank boots next, and each bank\'s version, state, tries left, last failure and history', (c) => c
      .positional('target', { type: 'string', demandOption: true, describe: 'Image file or block device' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the report as JSON' })
      .example('$0 status /dev/sdb', 'Why did it roll back?'))
    .command('rollback <target>', 'Make the other bank (which must be valid) the one that boots', (c) => c
      .positional('target', { type: 'string', demandOption: true, describe: 'Image file or block device' })
      .example('$0 rollback /dev/sdb', 'Go back to the previous version'))
    .command('mark-good <target>', 'Mark the bank that boots next good (what a healthy kernel does), when it is new or on trial', (c) => c
      .positional('target', { type: 'string', demandOption: true, describe: 'Image file or block device' })
      .example('$0 mark-good /dev/sdb', 'Keep the version on trial'))
    .command('coredump <target>', "List the kernel's crash dumps in the core-dump partition and show the newest (registers, backtrace with functions, log)", (c) => c
      .positional('target', { type: 'string', demandOption: true, describe: 'Image file or block device' })
      .option('seq', { type: 'number', describe: 'Show (or extract) only the dump with this sequence number' })
      .option('all', { type: 'boolean', default: false, describe: 'Include dumps cleared by --clear' })
      .option('kernel', { type: 'string', describe: 'Kernel ELF with debug info for the backtrace (default: <target>.kernel.elf, else kernel.elf in the bank that crashed)' })
      .option('log-lines', { type: 'number', default: 25, describe: 'Lines of the kernel log to show' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the dumps as JSON' })
      .option('extract', { type: 'string', describe: 'Write each dump to DIR/seq-N/: header.json, registers.txt, backtrace.txt, log.txt, body.bin' })
      .option('clear', { type: 'boolean', default: false, describe: 'Free every slot (writes the partition header only); the next boot reports no dumps' })
      .example('$0 coredump esxi.img', 'List the dumps and show the newest')
      .example('$0 coredump /dev/sdb --extract crash/', 'Save every waiting dump as files')
      .example('$0 coredump esxi.img --clear', 'Mark every dump read'))
    .command('config <target> <action> [settings..]', "Read (get [KEY...]) or preseed (set KEY=VALUE...) the host configuration the kernel keeps on the store partition", (c) => c
      .positional('target', { type: 'string', demandOption: true, describe: 'Image file or device' })
      .positional('action', { type: 'string', choices: ['get', 'set'], demandOption: true, describe: 'get: print settings; set: write them for the next boot' })
      .positional('settings', { type: 'string', array: true, describe: 'get: KEY...; set: KEY=VALUE...' })
      .option('json', { type: 'boolean', default: false, describe: 'get: print JSON (with the record seq and slot)' })
      .example('$0 config esxi.img get', 'Print every setting (hostname, net.*, root.password)')
      .example('$0 config esxi.img set hostname=esx01 net.mode=static net.address=10.0.0.5 net.netmask=255.255.255.0', 'Preseed the management network')
      .example("$0 config esxi.img set root.password=\"$(openssl passwd -6 'secret')\"", 'Preseed the root password'))
    .command('devices', 'List the disks flash could write: size, model, transport, removable, mounted, system disk', (c) => c
      .option('json', { type: 'boolean', default: false, describe: 'Print the list as JSON' })
      .example('$0 devices', 'Which disk is the USB stick?')
      .example('$0 devices --json | jq \'.[] | select(.transport == "usb")\'', 'Only USB disks'))
    .command('flash <image> <device>', 'Write an image to a USB stick or SD card: refuses system, mounted and fixed disks, writes only data, verifies by reading back', (c) => c
      .positional('image', { type: 'string', demandOption: true, describe: 'Raw image, or .gz / .xz / .zst of one; a .bmap and manifest beside it are used' })
      .positional('device', { type: 'string', demandOption: true, describe: 'The whole disk, e.g. /dev/sdb (see bankforge devices)' })
      .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'Do not ask for confirmation (required without a terminal)' })
      .option('verify', { type: 'boolean', default: true, describe: 'Read everything back from the device after writing (--no-verify skips it)' })
      .option('allow-fixed', { type: 'boolean', default: false, describe: 'Also write disks that are neither removable nor on USB (internal disks)' })
      .example('$0 flash esxi.img /dev/sdb', 'Asks, writes, verifies')
      .example('$0 flash esxi.img.xz /dev/sdb --yes', 'Decompresses on the fly; no question')
      .epilogue(`Linux only. Loop devices count as removable test targets. ${exitCodesEpilogue('flash')} After a failed write or verify the device is not usable; after an interruption it is not bootable.`))
    .demandCommand(1, 'Give a command; see bankforge --help')
    .strict()
    .version(false)
    .help()
    .alias('help', 'h')
    .wrap(Math.min(HELP_WIDTH, terminalColumns() || HELP_WIDTH))
    .epilogue(exitCodesEpilogue());
}

/** What yargs makes of a command line, and the help it would print ('' for none); a usage error is a BankforgeError (EXIT.usage). */
export async function parseWithYargs(argv: string[]): Promise<{ args: Record<string, unknown> & { _: (string | number)[] }; help: string }> {
  const { default: yargs } = await import('yargs');
  // Given a callback, yargs hands over the help it would have printed (through console.log, which
  // drops a short write to a file) and does not end the process after it: main() prints it with
  // printOut, as every command prints (cli/stdout.ts).
  let help = '';
  const args = await commands(yargs())
    .fail((msg, err) => {
      if (err) throw err;
      throw new BankforgeError(`${msg}\n(see bankforge --help)`, EXIT.usage);
    })
    .parseAsync(argv, (_err: unknown, _argv: unknown, output: string) => { help = output; });
  if (help) return { args, help };
  // yargs stops looking for a command at `--`: what follows is neither a command it parsed
  // (`-- status x.img`) nor one it refused (`-- frobnicate`).
  const end = argv.indexOf('--'), at = argv.indexOf(String(args._[0]));
  if (end !== -1 && !(at !== -1 && at < end)) throw new BankforgeError(`-- comes before the command; put it after the command's options\n(see bankforge --help)`, EXIT.usage);
  return { args, help };
}

export async function main(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  // Seen before parsing, so that a usage error is JSON too.
  const json = argv.some((a) => a === '--json' || a === '--json=true');
  if (directArgs(argv)) return directMain(argv);
  try {
    // Only in front of a command: `build --version V` is the version to build.
    if (argv[0] === '--version') {
      printOut(json ? `${JSON.stringify({ name: 'bankforge', version: toolVersion() })}\n` : `${toolVersion()}\n`);
      return;
    }
    const { args, help } = await parseWithYargs(argv);
    // --help, -h, or the word help: yargs has laid out the help and nothing is to run.
    if (help) { printOut(`${help}\n`); return; }
    const name = String(args._[0]);
    if (!Object.hasOwn(COMMAND_MODULES, name)) throw new Error(`yargs accepted a command without a module: ${name}`);
    await (await COMMAND_MODULES[name]!()).run(args);
  } catch (e) {
    process.exitCode = report(e, debug, json);
  } finally {
    settleOutput();
  }
}
