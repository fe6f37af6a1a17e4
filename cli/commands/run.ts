// `bankforge run`: boots an image in QEMU (qemu/) with its serial console on this terminal.
// With --expect it is a smoke test: exit 0 as soon as a serial line matches, 5 when --timeout
// passes first. Keys typed on a terminal go to the serial console; Ctrl-] or Ctrl-C quits.
// It boots raw, qcow2 and vmdk images, told apart by content; anything else is refused for what
// it is before QEMU starts. --screenshot saves the screen when the run ends (on the --expect
// match, the timeout or Ctrl-C). With --json the console goes to stderr and stdout gets one JSON
// document: the outcome, or cli/main.ts' error document (exit 5 and 6 included).

import { open, stat } from 'node:fs/promises';
import { BankforgeError, EXIT } from '../../support/errors.js';
import { checkOutputPath, writeOutput } from '../../support/output-file.js';
import { CONTAINER_PROBE_BYTES, TEXT_PROBE_BYTES, containerOf, isTextFile } from '../../disk/container.js';
import { DISK_BUSES, Machine, SerialClosedError, SerialTimeoutError, type DiskBus } from '../../qemu/index.js';
import { lockForWriting } from '../../disk/write-lock.js';
import { probeDisk } from '../../qemu/disk.js';
import type { SectorSize } from '../../partitions/units.js';
import { printOut } from '../stdout.js';

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
  screenshot?: string;
  quiet: boolean;
  json: boolean;
}

/** Ctrl-] (telnet's and virsh console's escape) and Ctrl-C, as bytes in raw mode. */
const QUIT_KEYS = [0x1d, 0x03];

type Outcome =
  | { kind: 'matched'; afterMs: number; match: string }
  | { kind: 'timeout'; message: string }
  /** `clean`: QEMU exited with status 0 and nothing was expected. */
  | { kind: 'exited'; clean: boolean; message: string }
  | { kind: 'interrupted'; why: string };

export async function run(a: Args): Promise<void> {
  const expect = a.expect === undefined ? undefined : compile(a.expect);
  if (a.timeout !== undefined && !(a.timeout > 0)) throw new BankforgeError(`--timeout ${a.timeout}: expected a number of seconds greater than 0`, EXIT.usage);
  const bus = busOf(a);
  if (!Number.isInteger(a.mem) || a.mem < 16) throw new BankforgeError(`--mem ${a.mem}: expected whole MiB, at least 16`, EXIT.usage);
  // The console goes to stdout as it comes (stderr with --json); a note must not land in the middle of a guest line.
  const consoleOut = a.json ? process.stderr : process.stdout;
  let midLine = false;
  const show = (text: string): void => { if (text) { consoleOut.write(text); midLine = !text.endsWith('\n'); } };
  const note = (msg: string): void => { if (!a.quiet) process.stderr.write(`${midLine ? '\n' : ''}bankforge: ${msg}\n`); midLine = false; };

  // An unreadable image, or a file that is no disk image, is said as such before anything else looks at it.
  await refuseNonImage(a.image);
  const disk = await probeDisk(a.image);
  if (a.screenshot !== undefined) checkOutputPath(a.screenshot);
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
  let failure: BankforgeError | undefined;
  let result: Record<string, unknown> = {};
  let screenshot: string | undefined;
  try {
    const ends: Promise<Outcome>[] = [interrupted];
    if (expect) {
      ends.push(m.waitFor(expect, { timeoutMs: a.timeout === undefined ? Infinity : a.timeout * 1000 }).then(
        (found): Outcome => ({ kind: 'matched', afterMs: Date.now() - started, match: found[0] }),
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
    if (a.screenshot !== undefined) {
      if (outcome.kind === 'exited') note(`no screenshot: QEMU had exited`);
      else screenshot = await writeOutput(a.screenshot, async (tmp) => { await m.screenshot(tmp); return a.screenshot; });
    }
    switch (outcome.kind) {
      case 'matched':
        // waitFor also matches an unfinished line (for prompts); let a line in progress finish
        // printing before QEMU is stopped, so the console shows it whole.
        for (let i = 0; i < 50 && midLine; i++) await new Promise((r) => setTimeout(r, 20));
        note(`matched ${expect} after ${(outcome.afterMs / 1000).toFixed(1)} s`);
        result = { outcome: 'matched', seconds: outcome.afterMs / 1000, match: outcome.match };
        break;
      case 'timeout':
        failure = new BankforgeError(outcome.message, EXIT.timeout);
        break;
      case 'exited':
        if (!outcome.clean) failure = new BankforgeError(outcome.message, EXIT.qemuExited);
        result = { outcome: 'exited', seconds: (Date.now() - started) / 1000 };
        break;
      case 'interrupted':
        note(`${outcome.why}: stopping QEMU`);
        if (a.json) failure = new BankforgeError(`${outcome.why}: QEMU stopped`, EXIT.interrupted);
        else process.exitCode = EXIT.interrupted;
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
  // After QEMU has stopped: cli/main.ts prints it (as JSON with --json) with its exit code.
  if (failure) throw failure;
  if (a.json && process.exitCode === undefined) {
    // The console went to stderr, which holds what a full pipe did not take: with 2>&1 the JSON
    // must come after it.
    if (process.stderr.writableLength) await new Promise((resolve) => process.stderr.write('', resolve));
    printOut(`${JSON.stringify({ image: a.image, format: disk.format, ...result, ...(screenshot ? { screenshot } : {}) }, null, 2)}\n`);
  }
}

/** A directory, a compressed image, a VM disk QEMU is not given here, a text file: refused by name. */
async function refuseNonImage(path: string): Promise<void> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new BankforgeError(`cannot open ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, EXIT.input, { file: path });
  });
  if (st.isDirectory()) throw new BankforgeError(`${path} is a directory, not a disk image`, EXIT.input, { file: path });
  if (!st.isFile() && !st.isBlockDevice()) throw new BankforgeError(`${path} is not a regular file or a block device`, EXIT.input, { file: path });
  if (!st.isFile()) return;
  if (st.size === 0) throw new BankforgeError(`${path} is empty, not a disk image`, EXIT.input, { file: path });
  const fh = await open(path, 'r');
  const head = Buffer.alloc(Math.min(st.size, Math.max(CONTAINER_PROBE_BYTES, TEXT_PROBE_BYTES)));
  try { await fh.read(head, 0, head.length, 0); } finally { await fh.close(); }
  const hit = containerOf(head);
  if (hit?.compression) throw new BankforgeError(`${path} is a compressed image (${hit.compression}): decompress it first`, EXIT.input, { file: path });
  if (hit && !hit.qemuBoots) throw new BankforgeError(`${path} is not a disk image run boots (raw, qcow2 or vmdk): it is ${hit.what}`, EXIT.input, { file: path });
  if (isTextFile(head)) throw new BankforgeError(`${path} is a text file, not a disk image`, EXIT.input, { file: path });
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
