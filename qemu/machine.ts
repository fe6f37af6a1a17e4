// A running bankforge machine: QEMU with OVMF booting one disk image, its serial console as
// text to wait on and type into, and QMP for keys, screenshots, resets and a clean quit.

import type { ChildProcess } from 'node:child_process';
import { constants as osConstants, tmpdir } from 'node:os';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Duplex, Writable } from 'node:stream';
import { BankforgeError } from '../support/errors.js';
import type { SectorSize } from '../partitions/units.js';
import { chooseAccel, type AccelChoice } from './accel.js';
import { machineArgs, type DiskBus } from './args.js';
import { findQemu } from './binary.js';
import { probeDisk } from './disk.js';
import { forget, isRunning, launch } from './launch.js';
import { findOvmf } from './ovmf.js';
import { writeFirmwareImage } from './firmware-image.js';
import { QmpClient } from './qmp.js';
import { SerialConsole, type Pattern, type WaitOptions } from './serial.js';
import { parsePpm, readScreen, ScreenTimeoutError, type Screen } from './screen.js';

export interface MachineOptions {
  /** Disk image (raw or qcow2) or block device to boot. */
  image: string;
  /** Open the disk with snapshot=on: the guest's writes are discarded and the image is not changed. */
  snapshot?: boolean;
  /** How the disk is attached: virtio-blk (the default), a USB stick (qemu-xhci + usb-storage),
   * SATA on q35's AHCI controller (ide-hd) or an NVMe controller. */
  bus?: DiskBus;
  /** Shorthand for `bus: 'usb'`. */
  usb?: boolean;
  /** More disks attached after the boot disk (on the boot disk's bus unless said), never booted from. */
  extraDisks?: readonly { image: string; bus?: DiskBus; snapshot?: boolean; sectorSize?: SectorSize }[];
  /** Guest memory; default 256. */
  memMiB?: number;
  /** Show a window (QEMU's default display) instead of running headless. */
  gui?: boolean;
  /** Logical and physical block size of the disk; default: detected from the image's GPT. */
  sectorSize?: SectorSize;
  /** Appended to the command line as given. */
  extraArgs?: readonly string[];
  /** QEMU also writes everything the guest prints on the serial console to this file. */
  serialLog?: string;
  /** In error messages and QEMU's window title; default: the image's file name. */
  name?: string;
}

export const DEFAULT_MEM_MIB = 256;
/** How long stop() lets QEMU quit by itself before it kills it. */
export const STOP_GRACE_MS = 5_000;

/** QEMU's stdio, where the serial console is, plus the QMP socket at fd 3. */
const QMP_FD = 3;

export class Machine {
  readonly #child: ChildProcess;
  readonly #serial: SerialConsole;
  readonly #qmp: QmpClient;
  readonly #listeners = new Set<(text: string) => void>();
  #dumps = 0;
  #stderr = '';
  #stopping: Promise<number> | undefined;

  /** Resolves with QEMU's exit status once it has exited and its temporary files are gone; 128 + n for death by signal n. */
  readonly exited: Promise<number>;

  private constructor(
    readonly name: string,
    /** The accelerator in use and why it was chosen. */
    readonly accel: AccelChoice,
    /** QEMU's command line (program first). */
    readonly command: readonly string[],
    child: ChildProcess,
    /** The machine's private directory (screendumps): removed when QEMU has exited. */
    readonly tempDir: string,
  ) {
    this.#child = child;
    this.#serial = new SerialConsole(name);
    this.#qmp = new QmpClient(child.stdio[QMP_FD] as Duplex);
    const decoder = new TextDecoder();
    child.stdout!.on('data', (chunk: Buffer) => {
      const text = decoder.decode(chunk, { stream: true });
      this.#serial.feed(text);
      for (const l of this.#listeners) l(text);
    });
    child.stderr!.on('data', (chunk: Buffer) => { this.#stderr = (this.#stderr + chunk.toString()).slice(-8192); });
    // A failed spawn is followed by 'close'; its message is all there is to report.
    child.on('error', (e) => { this.#stderr += `${e.message}\n`; });
    // The guest may stop reading; a write into a dead QEMU must not crash its owner.
    child.stdin!.on('error', () => undefined);
    this.exited = new Promise((resolveExit) => {
      // 'close' comes after the last serial output has been read, so output is complete by then.
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        const status = code ?? 128 + (signal ? osConstants.signals[signal] : 0);
        this.#serial.close(`QEMU exited with status ${status}${this.#stderr.trim() ? ` (${this.#stderr.trim().split('\n').pop()})` : ''}`);
        // A directory that cannot be removed must not keep exited from resolving.
        void rm(tempDir, { recursive: true, force: true }).catch(() => undefined).finally(() => { forget(child); resolveExit(status); });
      });
    });
  }

  static async start(opts: MachineOptions): Promise<Machine> {
    const image = resolve(opts.image);
    const name = opts.name ?? basename(image);
    const qemu = findQemu();
    const ovmf = await findOvmf();
    const disk = await probeDisk(image, opts.sectorSize);
    if (opts.usb && opts.bus !== undefined && opts.bus !== 'usb') throw new BankforgeError(`usb: true and bus: '${opts.bus}' contradict each other`);
    const bus: DiskBus = opts.bus ?? (opts.usb ? 'usb' : 'virtio');
    const extraDisks = await Promise.all((opts.extraDisks ?? []).map(async (d) => ({
      ...await probeDisk(resolve(d.image), d.sectorSize), path: resolve(d.image), bus: d.bus ?? bus, snapshot: d.snapshot ?? false,
    })));
    const accel = await chooseAccel(qemu, ovmf);
    const tempDir = await mkdtemp(join(tmpdir(), 'bankforge-qemu-'));
    let child: ChildProcess;
    let args: string[];
    try {
      const firmware = join(tempDir, 'firmware.fd');
      await writeFirmwareImage(ovmf, firmware);
      args = machineArgs({
        name,
        accel: accel.accel,
        memMiB: opts.memMiB ?? DEFAULT_MEM_MIB,
        firmware,
        disk: { ...disk, path: image, bus, snapshot: opts.snapshot ?? false },
        extraDisks,
        gui: opts.gui ?? false,
        serialLog: opts.serialLog === undefined ? undefined : resolve(opts.serialLog),
        qmpFd: QMP_FD,
        extraArgs: opts.extraArgs ?? [],
      });
      child = launch(qemu, args, ['pipe', 'pipe', 'pipe', 'pipe'], tempDir);
    } catch (e) {
      await rm(tempDir, { recursive: true, force: true });
      throw e;
    }
    const m = new Machine(name, accel, [qemu, ...args], child, tempDir);
    try {
      await m.#qmp.handshake();
    } catch {
      // QEMU refused the command line or the image (locked, unreadable): its stderr says why.
      const status = await m.kill();
      throw new BankforgeError(`QEMU did not start ${name} (exit status ${status}):\n${m.#stderr.trim() || '(no message)'}\ncommand: ${m.command.join(' ')}`);
    }
    return m;
  }

  /** QEMU's process id. */
  get pid(): number { return this.#child.pid!; }

  /** Everything the guest wrote on the serial console so far, terminal escapes included. */
  get output(): string { return this.#serial.output; }

  /** The complete serial lines so far, without terminal escapes. */
  get lines(): readonly string[] { return this.#serial.lines; }

  /** The last `n` serial lines, the unfinished one included. */
  lastLines(n?: number): string[] { return this.#serial.lastLines(n); }

  /**
   * Resolves with the match of the first serial line, not consumed by an earlier waitFor, that
   * matches `pattern` (a string matches literally); the unfinished last line counts too, for
   * prompts. Consumes that line and those before it. Rejects with a SerialTimeoutError after
   * `timeoutMs` (default 60 s) or a SerialClosedError when QEMU exits; both messages carry the
   * pattern, the time waited and the last serial lines.
   */
  waitFor(pattern: Pattern, opts?: WaitOptions): Promise<RegExpExecArray> {
    return this.#serial.waitFor(pattern, opts);
  }

  /** Calls `listener` with each piece of serial output as it arrives; returns the unsubscribe function. */
  onOutput(listener: (text: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Types `text` on the serial console (COM1), as given: end a line with "\r" like a terminal does. */
  async sendText(text: string): Promise<void> {
    this.#mustRun('sendText');
    const stdin = this.#child.stdin as Writable;
    await new Promise<void>((ok, fail) => stdin.write(text, (e) => (e ? fail(e) : ok())));
  }

  /**
   * Presses key chords on the PS/2 keyboard, one after the other. A chord is QEMU key codes
   * joined by "-": "ret", "down", "shift-r", "ctrl-alt-delete" (see QMP send-key, QKeyCode).
   */
  async sendKeys(chords: readonly string[]): Promise<void> {
    this.#mustRun('sendKeys');
    for (const chord of chords) {
      const keys = chord.split('-').map((data) => ({ type: 'qcode', data }));
      await this.#qmp.execute('send-key', { keys });
    }
  }

  /**
   * Runs a human monitor command (`xp /4bx 0xfed40000`, `info registers`) and resolves with what
   * QEMU printed: for looking at the guest's memory and CPU from a test or while debugging.
   */
  async monitor(command: string): Promise<string> {
    this.#mustRun('monitor');
    return this.#qmp.execute<string>('human-monitor-command', { 'command-line': command });
  }

  /** Writes a PNG of the screen to `pngPath`. */
  async screenshot(pngPath: string): Promise<void> {
    this.#mustRun('screenshot');
    await this.#qmp.execute('screendump', { filename: resolve(pngPath), format: 'png' });
  }

  /**
   * The screen as text: a screendump cut into the kernel console's cells, each matched exactly
   * against the kernel's font (qemu/screen.ts), with its colours.
   */
  async screenText(): Promise<Screen> {
    this.#mustRun('screenText');
    const file = join(this.tempDir, `screen-${this.#dumps++}.ppm`);
    await this.#qmp.execute('screendump', { filename: file });
    try {
      return readScreen(parsePpm(await readFile(file)));
    } finally {
      await rm(file, { force: true });
    }
  }

  /**
   * Resolves with the screen once its rows, joined by newlines, match `pattern` in two readings in
   * a row that show the same text (a screendump can catch the guest halfway through a redraw),
   * reading it every `intervalMs` (default 250); rejects with a ScreenTimeoutError, which shows
   * the last screen, after `timeoutMs` (default 60 s).
   */
  async waitForScreen(pattern: RegExp, opts: WaitOptions & { intervalMs?: number } = {}): Promise<Screen> {
    const started = Date.now();
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    let last: Screen | undefined, before = '';
    for (;;) {
      last = await this.screenText();
      const text = last.text.join('\n');
      if (re.test(text) && text === before) return last;
      before = text;
      if (Date.now() - started >= timeoutMs) throw new ScreenTimeoutError(pattern, Date.now() - started, last, this.name);
      // A match is read again soon to confirm it.
      await new Promise((r) => setTimeout(r, (opts.intervalMs ?? 250) / (re.test(text) ? 2 : 1)));
    }
  }

  /** Hard reset, as a watchdog or the reset button does: the firmware starts again, nothing is shut down. */
  async powerCycle(): Promise<void> {
    this.#mustRun('powerCycle');
    await this.#qmp.execute('system_reset');
  }

  /** SIGKILL, like pulling the power cord mid-write; resolves with the exit status (137). */
  async kill(): Promise<number> {
    if (isRunning(this.#child)) this.#child.kill('SIGKILL');
    return this.exited;
  }

  /**
   * Asks QEMU to quit and waits for it (SIGKILL after `graceMs`), then removes its temporary
   * files. Safe to call any number of times, also after kill() or after QEMU exited by itself.
   */
  stop(graceMs = STOP_GRACE_MS): Promise<number> {
    this.#stopping ??= (async () => {
      if (isRunning(this.#child)) {
        this.#qmp.execute('quit').catch(() => undefined);
        const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
        await this.exited;
        clearTimeout(timer);
      }
      this.#qmp.close();
      return this.exited;
    })();
    return this.#stopping;
  }

  #mustRun(what: string): void {
    if (!isRunning(this.#child)) throw new Error(`${what}: QEMU of ${this.name} has exited (status ${this.#child.exitCode ?? this.#child.signalCode})`);
  }
}
