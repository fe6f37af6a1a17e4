// `bankforge run`: boots an image in QEMU (qemu/) with its serial console on this terminal.
// With --expect it is a smoke test: exit 0 as soon as a serial line matches, 5 when --timeout
// passes first. Keys typed on a terminal go to the serial console; Ctrl-] or Ctrl-C quits.

import { BankforgeError, EXIT } from '../../support/errors.js';
import { DISK_BUSES, Machine, SerialClosedError, SerialTimeoutError, type DiskBus } from '../../qemu/index.js';
import { lockForWriting } from '../../disk/write-lock.js';
import { probeDisk } from '../../qemu/disk.js';
import type { SectorSize } from '../../partitions/units.js';

interface Args {
  image: string;
  snapshot: boolean;
  timeout?: number;
  expect?: string;
  gui: boolean;
  bus?: string;
  usb: boolean;
  mem: number;
  sectorSize?: number;
  quiet: boolean;
}

/** Ctrl-] (telnet's and virsh console's escape) and Ctrl-C, as bytes in raw mode. */
const QUIT_KEYS = [0x1d, 0x03];

type Outcome =
  | { kind: 'matched'; afterMs: number }
  | { kind: 'timeout'; message: string }
  /** `clean`: QEMU exited with status 0 and nothing was expected. */
  | { kind: 'exited'; clean: boolean; message: string }
  | { kind: 'interrupted'; why: string };

export async function run(a: Args): Promise<void> {
  const expect = a.expect === undefined ? undefined : compile(a.expect);
  if (a.timeout !== undefined && !(a.timeout > 0)) throw new BankforgeError(`--timeout ${a.timeout}: expected a number of seconds greater than 0`, EXIT.usage);
  const bus = busOf(a);
  if (!Number.isInteger(a.mem) || a.mem < 16) throw new BankforgeError(`--mem ${a.mem}: expected whole MiB, at least 16`, EXIT.usage);
  // The console goes to stdout as it comes; a note must not land in the middle of a guest line.
  let midLine = false;
  const show = (text: string): void => { if (text) { process.stdout.write(text); midLine = !text.endsWith('\n'); } };
  const note = (msg: string): void => { if (!a.quiet) process.stderr.write(`${midLine ? '\n' : ''}bankforge: ${msg}\n`); midLine = false; };

  // An unreadable image is said as such before anything else looks at it.
  await probeDisk(a.image);
  if (!a.snapshot) {
    // Without --snapshot the guest writes the image: refused, naming the holder, while another
    // bankforge writes it or a QEMU has it. While it runs, QEMU's own image lock is the write lock
    // (disk/write-lock.ts): `config set` or `upgrade` meanwhile are refused. A writer that slips in
    // between this check and QEMU's open makes QEMU refuse the image (exit 3).
    await (await lockForWriting(a.image)).release();
  }
  const m = await Machine.start({
    image: a.image,
    snapshot: a.snapshot,
    bus,
    gui: a.gui,
    memMiB: a.mem,
    ...(a.sectorSize ? { sectorSize: a.sectorSize as SectorSize } : {}),
  });
  const started = Date.now();
  const stdin = process.stdin;
  const interactive = stdin.isTTY === true;
  // Whatever came before the subscription is shown first, so the console on stdout is whole.
  show(m.output);
  m.onOutput(show);
  note(`booting ${a.image} (${m.accel.accel}: ${m.accel.reason})${interactive ? '; Ctrl-] or Ctrl-C quits' : ''}`);

  let interrupt!: (why: string) => void;
  const interrupted = new Promise<Outcome>((resolve) => { interrupt = (why) => resolve({ kind: 'interrupted', why }); });
  const onSignal = (signal: NodeJS.Signals): void => interrupt(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const onKeys = (data: Buffer): void => {
    if (data.some((b) => QUIT_KEYS.includes(b))) interrupt(data.includes(0x1d) ? 'Ctrl-]' : 'Ctrl-C');
    else m.sendText(data.toString('utf8')).catch(() => undefined);
  };
  if (interactive) {
    stdin.setRawMode(true);
    stdin.on('data', onKeys);
  }

  let timer: NodeJS.Timeout | undefined;
  try {
    const ends: Promise<Outcome>[] = [interrupted];
    if (expect) {
      ends.push(m.waitFor(expect, { timeoutMs: a.timeout === undefined ? Infinity : a.timeout * 1000 }).then(
        (): Outcome => ({ kind: 'matched', afterMs: Date.now() - started }),
        (e: unknown): Outcome => {
          if (e instanceof SerialTimeoutError) return { kind: 'timeout', message: e.message };
          if (e instanceof SerialClosedError) return { kind: 'exited', clean: false, message: e.message };
          throw e;
        }));
    } else {
      ends.push(m.exited.then((status): Outcome => ({ kind: 'exited', clean: status === 0, message: `QEMU exited with status ${status}` })));
      if (a.timeout !== undefined) {
        const ms = a.timeout * 1000;
        ends.push(new Promise((resolve) => {
          timer = setTimeout(() => resolve({ kind: 'timeout', message: `--timeout ${a.timeout} s passed; last lines:\n${m.lastLines().map((l) => `  | ${l}`).join('\n')}` }), ms);
        }));
      }
    }
    const outcome = await Promise.race(ends);
    switch (outcome.kind) {
      case 'matched':
        // waitFor also matches an unfinished line (for prompts); let a line in progress finish
        // printing before QEMU is stopped, so the console shows it whole.
        for (let i = 0; i < 50 && midLine; i++) await new Promise((r) => setTimeout(r, 20));
        note(`matched ${expect} after ${(outcome.afterMs / 1000).toFixed(1)} s`);
        process.exitCode = EXIT.ok;
        break;
      case 'timeout':
        process.stderr.write(`bankforge: ${outcome.message}\n`);
        process.exitCode = EXIT.timeout;
        break;
      case 'exited':
        if (!outcome.clean) process.stderr.write(`bankforge: ${outcome.message}\n`);
        process.exitCode = outcome.clean ? EXIT.ok : EXIT.qemuExited;
        break;
      case 'interrupted':
        note(`${outcome.why}: stopping QEMU`);
        process.exitCode = EXIT.interrupted;
        break;
    }
  } finally {
    clearTimeout(timer);
    if (interactive) {
      stdin.off('data', onKeys);
      stdin.setRawMode(false);
      stdin.pause();
    }
    await m.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** --bus, or --usb as its shorthand; both at once must agree. */
function busOf(a: Args): DiskBus {
  if (a.bus !== undefined && !(DISK_BUSES as readonly string[]).includes(a.bus)) {
    throw new BankforgeError(`--bus ${a.bus}: expected one of ${DISK_BUSES.join(', ')}`, EXIT.usage);
  }
  if (a.usb && a.bus !== undefined && a.bus !== 'usb') throw new BankforgeError(`--usb and --bus ${a.bus} contradict each other`, EXIT.usage);
  return (a.bus as DiskBus | undefined) ?? (a.usb ? 'usb' : 'virtio');
}

function compile(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (e) {
    throw new BankforgeError(`--expect ${source}: not a valid regular expression (${(e as Error).message})`, EXIT.usage);
  }
}
