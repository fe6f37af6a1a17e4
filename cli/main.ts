// The bankforge command line: yargs for parsing and help (the plainest lines are read without it:
// fast-args.ts, direct-args.ts), one module per command under commands/, each loaded only when
// its command runs so start-up stays lean.

import type { Argv } from 'yargs';
import { BankforgeError, EXIT } from '../support/errors.js';
import { exitCodesEpilogue } from '../support/exit-codes.js';
import { toolVersion } from '../support/package-info.js';
import { COMMAND_SHAPES, GLOBAL_OPTIONS, commandLine, commandNamed, type CommandName } from './command-shapes.js';
import { DIRECT_COMMANDS, main as directMain } from './direct.js';
import { directArgs } from './direct-args.js';
import { fastArgs, type ParsedArgs } from './fast-args.js';
import { report } from './report.js';
import { HELP_WIDTH, terminalColumns } from './static-help.js';
import { printOut, settleOutput } from './stdout.js';

/**
 * Each command's module, loaded only when it runs, after its line is read (main; the direct lines
 * are not given to yargs, cli/direct.ts runs them). yargs is given
 * no handlers, so no handler can ask for a command's help after parsing, and the bundled yargs
 * does not lay that help out on every run (scripts/bundle-cli.mjs, no-help-cache).
 */
const COMMAND_MODULES: Readonly<Record<CommandName, () => Promise<{ run(a: unknown): Promise<void> }>>> = {
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

/**
 * yargs' .command() arguments for `name`: its command string, and a builder that gives it the
 * positionals and options of cli/command-shapes.ts, then `more` (examples, epilogue).
 */
function command(name: CommandName, describe: string, more: (c: Argv) => Argv): [string, string, (c: Argv) => Argv] {
  return [commandLine(name), describe, (c) => {
    const shape = COMMAND_SHAPES[name];
    for (const p of shape.positionals) c = c.positional(p.name, p.spec);
    return more(c.options(shape.options));
  }];
}

function commands(y: Argv): Argv {
  return y
    .scriptName('bankforge')
    .usage('$0 <command> [options]\n\nBuild, inspect, boot, flash and upgrade ESXi-style A/B disk images.')
    .options(GLOBAL_OPTIONS)
    .command(...command('build', 'Build a disk image from a layout', (c) => c
      .example('$0 build', 'Build the default (ESXi) layout into esxi.img')
      .example('$0 build --format raw,xz,bmap', 'Also write esxi.img.xz and esxi.img.bmap (for bankforge flash or bmaptool copy)')
      .example('$0 build --layout small --out stick.img --version 1.2.0', 'Build the small layout as version 1.2.0')
      .example('SOURCE_DATE_EPOCH=1700000000 $0 build --sector-size 4096', 'Build for a 4Kn disk with fixed timestamps')))
    .command(...command('inspect', 'Show the partition table, filesystems and files of an image', (c) => c
      .example('$0 inspect esxi.img', 'List partitions, FAT volumes and their files')
      .example('$0 inspect esxi.img --json | jq .warnings', 'Only the warnings')))
    .command(...command('run', 'Boot an image in QEMU (UEFI, q35) with its serial console on this terminal', (c) => c
      .example('$0 run esxi.img --snapshot', 'Boot and use the serial console here; Ctrl-] or Ctrl-C quits')
      .example('$0 run esxi.img --bus nvme', 'Boot it as the NVMe disk of a machine')
      .example("$0 run esxi.img --snapshot --expect 'kernel: ready' --timeout 60", 'Smoke test: exit 0 on the line, 5 if it has not come within 60 s')
      .epilogue(`${exitCodesEpilogue('run')} 0 is also QEMU exiting by itself with status 0; 3 includes an image QEMU refuses and QEMU or OVMF missing.`)))
    .command(...command('bundle', "Pack one bank's content for a version (boot.cfg, kernel, SHA256SUMS) with a manifest and an optional signature", (c) => c
      .example('$0 bundle --version 1.3.0 -o 1.3.0.bfb', 'Bundle version 1.3.0 for the default layout')
      .example('openssl genpkey -algorithm ed25519 -out key.pem && $0 bundle -V 1.3.0 --sign key.pem -o 1.3.0.bfb', 'Signed')
      .epilogue('Format: docs/bundle.md.')))
    .command(...command('upgrade', 'Install a bundle into the inactive bank of an image or device; it boots next, on trial', (c) => c
      .example('$0 upgrade /dev/sdb 1.3.0.bfb --pubkey pub.pem', 'Upgrade a stick, checking the signature')
      .epilogue('Procedure and power-cut safety: docs/upgrade.md. Nothing is written unless the bundle verifies and fits.')))
    .command(...command('initramfs', 'Make a gzip-compressed cpio initramfs for a Linux payload, reproducibly', (c) => c
      .example('$0 initramfs --busybox .cache/linux/busybox-static/bin/busybox --dir examples/linux/rootfs -o initrd.img', 'busybox, an /init and the mark-good tool')
      .epilogue('Format and what the loader hands to Linux: docs/linux.md.')))
    .command(...command('status', 'Which bank boots next, and each bank\'s version, state, tries left, last failure and history', (c) => c
      .example('$0 status /dev/sdb', 'Why did it roll back?')))
    .command(...command('rollback', 'Make the other bank (which must be valid) the one that boots', (c) => c
      .example('$0 rollback /dev/sdb', 'Go back to the previous version')))
    .command(...command('mark-good', 'Mark the bank that boots next good (what a healthy kernel does), when it is new or on trial', (c) => c
      .example('$0 mark-good /dev/sdb', 'Keep the version on trial')))
    .command(...command('coredump', "List the kernel's crash dumps in the core-dump partition and show the newest (registers, backtrace with functions, log)", (c) => c
      .example('$0 coredump esxi.img', 'List the dumps and show the newest')
      .example('$0 coredump /dev/sdb --extract crash/', 'Save every waiting dump as files')
      .example('$0 coredump esxi.img --clear', 'Mark every dump read')))
    .command(...command('config', "Read (get [KEY...]) or preseed (set KEY=VALUE...) the host configuration the kernel keeps on the store partition", (c) => c
      .example('$0 config esxi.img get', 'Print every setting (hostname, net.*, root.password)')
      .example('$0 config esxi.img set hostname=esx01 net.mode=static net.address=10.0.0.5 net.netmask=255.255.255.0', 'Preseed the management network')
      .example("$0 config esxi.img set root.password=\"$(openssl passwd -6 'secret')\"", 'Preseed the root password')))
    .command(...command('devices', 'List the disks flash could write: size, model, transport, removable, mounted, system disk', (c) => c
      .example('$0 devices', 'Which disk is the USB stick?')
      .example('$0 devices --json | jq \'.[] | select(.transport == "usb")\'', 'Only USB disks')))
    .command(...command('flash', 'Write an image to a USB stick or SD card: refuses system, mounted and fixed disks, writes only data, verifies by reading back', (c) => c
      .example('$0 flash esxi.img /dev/sdb', 'Asks, writes, verifies')
      .example('$0 flash esxi.img.xz /dev/sdb --yes', 'Decompresses on the fly; no question')
      .epilogue(`Linux only. Loop devices count as removable test targets. ${exitCodesEpilogue('flash')} After a failed write or verify the device is not usable; after an interruption it is not bootable.`)))
    .demandCommand(1, 'Give a command; see bankforge --help')
    .strict()
    .version(false)
    .help()
    .alias('help', 'h')
    .wrap(Math.min(HELP_WIDTH, terminalColumns() || HELP_WIDTH))
    .epilogue(exitCodesEpilogue());
}

/** What yargs makes of a command line, and the help it would print ('' for none); a usage error is a BankforgeError (EXIT.usage). */
export async function parseWithYargs(argv: string[]): Promise<{ args: ParsedArgs; help: string }> {
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
    // The plainest lines without yargs (cli/fast-args.ts), the rest, help and mistakes with it.
    const fast = fastArgs(argv);
    const { args, help } = fast ? { args: fast, help: '' } : await parseWithYargs(argv);
    // --help, -h, or the word help: yargs has laid out the help and nothing is to run.
    if (help) { printOut(`${help}\n`); return; }
    const name = commandNamed(String(args._[0]));
    if (!name) throw new Error(`a command without a module was read: ${String(args._[0])}`);
    await (await COMMAND_MODULES[name]()).run(args);
  } catch (e) {
    process.exitCode = report(e, debug, json);
  } finally {
    settleOutput();
  }
}
