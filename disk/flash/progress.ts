// Progress of a flash: bytes done of the total, rate and time left. On a terminal one line is
// rewritten in place (at most ten times a second); in a pipe or CI log a plain line is printed
// at every tenth of the way, so logs stay short and readable.

import type { Bytes } from '../../partitions/units.js';
import { monotonicMs } from '../../support/event-loop-turns.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: Bytes): string {
  let v = n, u = 0;
  while (v >= 1024 && u < UNITS.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${n} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${UNITS[u]}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

/** "writing  42%  120 MiB of 286 MiB  35 MiB/s  ETA 0:05"; rate and ETA once there is something to measure. */
export function progressLine(phase: string, done: Bytes, total: Bytes, elapsedMs: number): string {
  const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
  const rate = elapsedMs > 0 ? (done / elapsedMs) * 1000 : 0;
  const head = `${phase.padEnd(9)} ${String(pct).padStart(3)}%  ${formatBytes(done)} of ${formatBytes(total)}`;
  if (rate <= 0 || done === 0) return head;
  return `${head}  ${formatBytes(rate)}/s  ETA ${formatDuration((total - done) / rate)}`;
}

export interface FlashProgress {
  /** A new phase (writing, verifying) of `total` bytes. */
  phase(name: string, total: Bytes): void;
  update(done: Bytes): void;
  /** A finished step, on its own line. */
  note(message: string): void;
}

export const silentProgress: FlashProgress = { phase() {}, update() {}, note() {} };

export function makeFlashProgress(opts: { quiet: boolean; stream?: NodeJS.WriteStream; now?: () => number }): FlashProgress {
  if (opts.quiet) return silentProgress;
  const out = opts.stream ?? process.stderr;
  const now = opts.now ?? monotonicMs;
  let name = '', total = 0, started = 0, lastShown = -Infinity, lastTenth = -1, onLine = false;
  const show = (done: Bytes, force: boolean): void => {
    const t = now();
    const line = progressLine(name, done, total, t - started);
    if (out.isTTY) {
      if (!force && t - lastShown < 100) return;
      out.write(`\r\x1b[K${line}`);
      onLine = true;
    } else {
      const tenth = total > 0 ? Math.floor((done / total) * 10) : 10;
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      out.write(`${line}\n`);
    }
    lastShown = t;
  };
  return {
    phase(n, t) { name = n; total = t; started = now(); lastShown = -Infinity; lastTenth = -1; },
    update(done) { show(done, done >= total); },
    note(message) { out.write(`${onLine ? '\r\x1b[K' : ''}${message}\n`); onLine = false; },
  };
}
