// The serial line as a terminal screen: a small VT100/ANSI interpreter that applies what the
// guest sends (cursor addressing, erase, SGR colours, text with wrap) to a grid of cells, so that
// a test reads the serial DCUI as a person at a terminal sees it. Only what a full-screen program
// needs is interpreted: CUP/HVP (H, f), cursor moves (A B C D), ED (J), EL (K), SGR (m); other
// sequences (mode switches such as ?25l, the DSR query 6n) are consumed and ignored.

import { BankforgeError, EXIT } from '../support/errors.js';
import type { Machine } from './machine.js';

export interface TermCell { ch: string; /** SGR colour numbers, 30-37/90-97 and 40-47/100-107; undefined: default */ fg?: number; bg?: number }

export class Terminal {
  readonly cells: TermCell[][];
  #x = 0;
  #y = 0;
  #fg: number | undefined;
  #bg: number | undefined;
  #pending = '';
  #listeners = new Set<() => void>();

  constructor(readonly cols = 80, readonly rows = 24) {
    this.cells = Array.from({ length: rows }, () => this.#blankRow());
  }

  /** The rows as text. */
  get text(): string[] { return this.cells.map((r) => r.map((c) => c.ch).join('')); }

  feed(data: string): void {
    const s = this.#pending + data;
    this.#pending = '';
    for (let i = 0; i < s.length; i++) {
      const c = s[i]!;
      if (c === '\x1b') {
        const m = /^\x1b(?:\[([?=>]?)([0-9;]*)([ -/]*)([@-~])|[()][0-9A-Za-z]|[@-Z\\-_])/.exec(s.slice(i));
        if (!m) {
          // Cut off at the end of what has come so far: keep it for the next piece.
          if (/^\x1b(\[[?=>]?[0-9;]*[ -/]*)?$/.test(s.slice(i))) { this.#pending = s.slice(i); return; }
          continue;
        }
        if (m[4] && !m[1] && !m[3]) this.#csi(m[4], m[2] ? m[2].split(';').map((p) => (p === '' ? 0 : Number(p))) : []);
        i += m[0].length - 1;
      } else if (c === '\r') this.#x = 0;
      else if (c === '\n') this.#lineFeed();
      else if (c === '\b') this.#x = Math.max(0, this.#x - 1);
      else if (c >= ' ' && c !== '\x7f') {
        if (this.#x >= this.cols) { this.#x = 0; this.#lineFeed(); }
        this.cells[this.#y]![this.#x++] = { ch: c, fg: this.#fg, bg: this.#bg };
      }
    }
    for (const l of this.#listeners) l();
  }

  /**
   * Resolves once the rows, joined by newlines, match `pattern` and have stayed so for `settleMs`
   * with nothing more arriving (a full-screen program sends a frame in pieces: a match in the
   * middle of one may be half old, half new); rejects after `timeoutMs`.
   */
  waitFor(pattern: RegExp, timeoutMs: number, settleMs = 300): Promise<string[]> {
    const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    return new Promise((resolve, reject) => {
      const started = Date.now();
      let settle: NodeJS.Timeout | undefined;
      const check = () => {
        if (settle) clearTimeout(settle);
        settle = undefined;
        if (!re.test(this.text.join('\n'))) return;
        settle = setTimeout(() => { done(); resolve(this.text); }, settleMs);
      };
      const timer = setTimeout(() => {
        done();
        reject(new BankforgeError(`timed out after ${((Date.now() - started) / 1000).toFixed(1)} s waiting for ${pattern} on the serial terminal; it shows:\n${this.text.map((r) => `  | ${r.trimEnd()}`).join('\n')}`, EXIT.timeout));
      }, timeoutMs);
      const done = () => { clearTimeout(timer); if (settle) clearTimeout(settle); this.#listeners.delete(check); };
      this.#listeners.add(check);
      check();
    });
  }

  #blankRow(): TermCell[] {
    return Array.from({ length: this.cols }, () => ({ ch: ' ', fg: this.#fg, bg: this.#bg }));
  }

  #lineFeed(): void {
    if (++this.#y < this.rows) return;
    this.#y = this.rows - 1;
    this.cells.shift();
    this.cells.push(this.#blankRow());
  }

  #csi(final: string, p: number[]): void {
    const n = Math.max(1, p[0] ?? 1);
    const clampX = (x: number) => Math.min(this.cols - 1, Math.max(0, x));
    const clampY = (y: number) => Math.min(this.rows - 1, Math.max(0, y));
    switch (final) {
      case 'H': case 'f': this.#y = clampY((p[0] || 1) - 1); this.#x = clampX((p[1] || 1) - 1); break;
      case 'A': this.#y = clampY(this.#y - n); break;
      case 'B': this.#y = clampY(this.#y + n); break;
      case 'C': this.#x = clampX(this.#x + n); break;
      case 'D': this.#x = clampX(this.#x - n); break;
      case 'J': {
        const mode = p[0] ?? 0;
        for (let y = 0; y < this.rows; y++) {
          if ((mode === 0 && y < this.#y) || (mode === 1 && y > this.#y)) continue;
          for (let x = 0; x < this.cols; x++) {
            if (mode === 0 && y === this.#y && x < this.#x) continue;
            if (mode === 1 && y === this.#y && x > this.#x) continue;
            this.cells[y]![x] = { ch: ' ', fg: this.#fg, bg: this.#bg };
          }
        }
        break;
      }
      case 'K': {
        const mode = p[0] ?? 0;
        for (let x = 0; x < this.cols; x++) {
          if ((mode === 0 && x < this.#x) || (mode === 1 && x > this.#x)) continue;
          this.cells[this.#y]![x] = { ch: ' ', fg: this.#fg, bg: this.#bg };
        }
        break;
      }
      case 'm':
        for (const v of p.length ? p : [0]) {
          if (v === 0) { this.#fg = undefined; this.#bg = undefined; }
          else if ((v >= 30 && v <= 37) || (v >= 90 && v <= 97)) this.#fg = v;
          else if ((v >= 40 && v <= 47) || (v >= 100 && v <= 107)) this.#bg = v;
          else if (v === 39) this.#fg = undefined;
          else if (v === 49) this.#bg = undefined;
        }
        break;
      default: break;
    }
  }
}

/** A terminal showing the machine's serial line: everything sent so far, then what comes. */
export function terminalOf(m: Machine, cols = 80, rows = 24): Terminal {
  const t = new Terminal(cols, rows);
  t.feed(m.output);
  m.onOutput((text) => t.feed(text));
  return t;
}
