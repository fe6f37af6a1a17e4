// The bankforge command line: yargs for parsing and help, one module per command under
// commands/, each loaded only when its command runs so start-up stays lean.

import yargs, { type Argv } from 'yargs';
import { BankforgeError, EXIT } from './errors.js';

export interface GlobalOptions { quiet: boolean; debug: boolean }

function commands(y: Argv): Argv {
  return y
    .scriptName('bankforge')
    .usage('$0 <command> [options]\n\nBuild, inspect, boot, flash and upgrade ESXi-style A/B disk images.')
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing but errors and requested data' })
    .option('debug', { type: 'boolean', default: false, describe: 'Show stack traces and tool output on errors' })
    .command('build', 'Build a disk image from a layout', (c) => c
      .option('layout', { alias: 'l', type: 'string', default: 'esxi', describe: 'Layout name from layouts/ or a path to a layout JSON file' })
      .option('out', { alias: 'o', type: 'string', describe: 'Image file to write (default: <layout>.img); the manifest goes beside it' })
      .option('version', { alias: 'V', type: 'string', default: '0.0.0-dev', describe: 'Version recorded in the banks and the manifest' })
      .option('sector-size', { type: 'number', choices: [512, 4096], describe: "Sector size (default: the layout's)" })
      .option('seed', { type: 'string', describe: "Seed for GUIDs and FAT serials (default: the layout's)" })
      .option('kernelopt', { type: 'string', default: '', describe: "The kernel command line (boot.cfg kernelopt), e.g. 'panic.delay=3'" })
      .option('boot-timeout', { type: 'number', default: 3, describe: "Seconds the loader's menu waits (boot.cfg timeout); 0 = no menu" })
      .option('json', { type: 'boolean', default: false, describe: 'Print the manifest as JSON on stdout' })
      .example('$0 build', 'Build the default (ESXi) layout into esxi.img')
      .example('$0 build --layout small --out stick.img --version 1.2.0', 'Build the small layout as version 1.2.0')
      .example('SOURCE_DATE_EPOCH=1700000000 $0 build --sector-size 4096', 'Build for a 4Kn disk with fixed timestamps'),
    async (a) => (await import('./commands/build.js')).run(a))
    .command('inspect <image>', 'Show the partition table, filesystems and files of an image', (c) => c
      .positional('image', { type: 'string', demandOption: true, describe: 'Image file or block device' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the report as JSON' })
      .option('sector-size', { type: 'number', choices: [512, 4096], describe: 'Sector size when the primary GPT is gone (default: detected)' })
      .example('$0 inspect esxi.img', 'List partitions, FAT volumes and their files')
      .example('$0 inspect esxi.img --json | jq .warnings', 'Only the warnings'),
    async (a) => (await import('./commands/inspect.js')).run(a))
    .command('run <image>', 'Boot an image in QEMU (UEFI, q35) with its serial console on this terminal', (c) => c
      .positional('image', { type: 'string', demandOption: true, describe: 'Disk image (raw or qcow2) to boot' })
      .option('snapshot', { type: 'boolean', default: false, describe: "Discard the guest's writes; the image is not changed" })
      .option('timeout', { type: 'number', describe: 'Stop QEMU after this many seconds and exit 5' })
      .option('expect', { type: 'string', describe: 'Stop QEMU and exit 0 as soon as a serial line matches this regular expression' })
      .option('gui', { type: 'boolean', default: false, describe: 'Show the screen in a window (default: headless)' })
      .option('usb', { type: 'boolean', default: false, describe: 'Attach the image as a USB stick instead of a virtio disk' })
      .option('mem', { type: 'number', default: 256, describe: 'Guest memory in MiB' })
      .option('sector-size', { type: 'number', choices: [512, 4096], describe: "Disk sector size (default: detected from the image's GPT)" })
      .example('$0 run esxi.img --snapshot', 'Boot and use the serial console here; Ctrl-] or Ctrl-C quits')
      .example("$0 run esxi.img --snapshot --expect 'kernel: ready' --timeout 60", 'Smoke test: exit 0 on the line, 5 if it has not come within 60 s')
      .epilogue('Exit codes: 0 matched (or QEMU exited by itself with 0), 3 bad input (image unreadable or refused by QEMU, QEMU or OVMF missing), 5 --timeout passed, 6 QEMU exited before a match or failed, 130 interrupted (Ctrl-C, Ctrl-], SIGINT, SIGTERM).'),
    async (a) => (await import('./commands/run.js')).run(a))
    .demandCommand(1, 'Give a command; see bankforge --help')
    .strict()
    .version(false)
    .help()
    .alias('help', 'h')
    .wrap(Math.min(110, process.stdout.columns || 110))
    .epilogue('Exit codes: 0 ok, 1 internal error, 2 usage error, 3 bad input (nothing written), 4 inspect found inconsistencies; run: 5 timeout, 6 QEMU exited first, 130 interrupted.');
}

export async function main(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  try {
    await commands(yargs(argv))
      .fail((msg, err) => {
        if (err) throw err;
        throw new BankforgeError(`${msg}\n(see bankforge --help)`, EXIT.usage);
      })
      .parseAsync();
  } catch (e) {
    process.exitCode = report(e, debug);
  }
}

function report(e: unknown, debug: boolean): number {
  if (e instanceof BankforgeError) {
    process.stderr.write(`bankforge: ${e.message}\n`);
    if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
    return e.exitCode;
  }
  const err = e as Error;
  process.stderr.write(`bankforge: internal error: ${err?.message ?? String(e)}\n`);
  if (debug) process.stderr.write(`${err?.stack ?? ''}\n`);
  else process.stderr.write('(run again with --debug for the stack trace, and please report it)\n');
  return EXIT.internal;
}
