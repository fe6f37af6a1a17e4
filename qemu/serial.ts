// The serial console as text: collects what the guest writes, splits it into lines without
// terminal escape sequences, and lets callers wait for a line matching a pattern, expect-style:
// every wait consumes the lines up to and including its match, so waiting twice for the same
// pattern finds its next occurrence, and a line printed before the wait began is not missed.
// An unfinished line (a prompt) is matched only once the guest has paused after it: a line that is
// still arriving would otherwise match an open-ended pattern with half its text.

import { BankforgeError, EXIT } from '../support/errors.js';

/** How many lines a failed wait shows. */
export const TAIL_LINES = 20;

export type Pattern = RegExp | string;

export interface WaitOptions {
  /** Give up after this long (default 60 000 ms; Infinity waits for ever). */
  timeoutMs?: number;
}

export const DEFAULT_WAIT_MS = 60_000;

/** How long an unfinished line must stay unchanged before waits may match it as a prompt. */
export const PROMPT_QUIET_MS = 150;

/** The pattern did not appear in time. */
export class SerialTimeoutError extends BankforgeError {
  constructor(readonly pattern: RegExp, readonly elapsedMs: number, readonly lastLines: readonly string[], who: string) {
    super(`timed out after ${(elapsedMs / 1000).toFixed(1)} s waiting for ${pattern} on the serial console of ${who}${tail(lastLines)}`, EXIT.timeout);
  }
}

/** The console closed (QEMU exited) before the pattern appeared. */
export class SerialClosedError extends BankforgeError {
  constructor(readonly pattern: RegExp, readonly elapsedMs: number, readonly lastLines: readonly string[], who: string, why: string) {
    super(`${why} after ${(elapsedMs / 1000).toFixed(1)} s, while waiting for ${pattern} on the serial console of ${who}${tail(lastLines)}`, EXIT.qemuExited);
  }
}

function tail(lines: readonly string[]): string {
  return lines.length ? `; last ${lines.length} lines:\n${lines.map((l) => `  | ${l}`).join('\n')}` : '; nothing was printed';
}

// CSI sequences (OVMF's terminal driver sends "\x1b[2J", "\x1b[01;01H", "\x1b[=3h"), character
// set selections and two-byte escapes; then the control characters left over (not tab).
const ESCAPES = /\x1b(?:\[[0-?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[@-Z\\-_])/g;
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f]/g;
// An escape cut off at the end of the text seen so far.
const UNFINISHED_ESCAPE = /\x1b(?:\[[0-?]*[ -/]*)?$/;

export function cleanLine(raw: string): string {
  return raw.replace(ESCAPES, '').replace(UNFINISHED_ESCAPE, '').replace(CONTROLS, '');
}

interface Waiter {
  pattern: RegExp;
  started: number;
  resolve(m: RegExpExecArray): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout | undefined;
}

export class SerialConsole {
  #output = '';
  #lines: string[] = [];
  #partial = '';
  /** Lines before this index are consumed by earlier waits. */
  #cursor = 0;
  /** The unfinished last line matched a wait: it is consumed once it completes. */
  #partialConsumed = false;
  /** The unfinished last line has not grown for PROMPT_QUIET_MS: it may be matched. */
  #partialQuiet = false;
  #quietTimer: NodeJS.Timeout | undefined;
  #waiters: Waiter[] = [];
  #closed: string | undefined;

  /** `who` names the machine in error messages. */
  constructor(private readonly who: string) {}

  /** Everything the guest wrote, escapes included. */
  get output(): string { return this.#output; }

  /** The complete lines so far, escapes and control characters removed. */
  get lines(): readonly string[] { return this.#lines; }

  /** The last `n` lines, the unfinished one included. */
  lastLines(n = TAIL_LINES): string[] {
    const partial = cleanLine(this.#partial);
    return [...this.#lines, ...(partial ? [partial] : [])].slice(-n);
  }

  feed(text: string): void {
    this.#output += text;
    const parts = (this.#partial + text).split('\n');
    this.#partial = parts.pop()!;
    for (const raw of parts) {
      this.#lines.push(cleanLine(raw));
      if (this.#partialConsumed) { this.#cursor = this.#lines.length; this.#partialConsumed = false; }
    }
    this.#partialQuiet = false;
    if (this.#quietTimer) clearTimeout(this.#quietTimer);
    this.#quietTimer = undefined;
    if (this.#partial) {
      this.#quietTimer = setTimeout(() => { this.#quietTimer = undefined; this.#partialQuiet = true; this.#serve(); }, PROMPT_QUIET_MS);
      this.#quietTimer.unref();
    }
    this.#serve();
  }

  /** No more output will come (`why` says what happened); waits that cannot match now fail. */
  close(why: string): void {
    if (this.#closed !== undefined) return;
    this.#closed = why;
    if (this.#quietTimer) clearTimeout(this.#quietTimer);
    this.#quietTimer = undefined;
    this.#partialQuiet = true;
    this.#serve();
    for (const w of this.#waiters.splice(0)) this.#fail(w);
  }

  waitFor(pattern: Pattern, opts: WaitOptions = {}): Promise<RegExpExecArray> {
    // A g or y flag would make exec() start at lastIndex; every line is matched from its start.
    const re = typeof pattern === 'string' ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    const timeoutMs = opts.timeoutMs ?? DEFAULT_WAIT_MS;
    return new Promise((resolve, reject) => {
      const w: Waiter = { pattern: re, started: Date.now(), resolve, reject, timer: undefined };
      if (this.#match(w)) return;
      if (this.#closed !== undefined) { this.#fail(w); return; }
      if (Number.isFinite(timeoutMs)) {
        w.timer = setTimeout(() => {
          this.#waiters = this.#waiters.filter((x) => x !== w);
          reject(new SerialTimeoutError(re, Date.now() - w.started, this.lastLines(), this.who));
        }, timeoutMs);
      }
      this.#waiters.push(w);
    });
  }

  #serve(): void {
    for (const w of [...this.#waiters]) {
      if (this.#match(w)) this.#waiters = this.#waiters.filter((x) => x !== w);
    }
  }

  /** Looks for `w`'s pattern in the unconsumed lines; on a match consumes and resolves. */
  #match(w: Waiter): boolean {
    for (let i = this.#cursor; i < this.#lines.length; i++) {
      const m = w.pattern.exec(this.#lines[i]!);
      if (m) {
        this.#cursor = i + 1;
        this.#partialConsumed = false;
        this.#settle(w, m);
        return true;
      }
    }
    // A prompt ("login: ") has no newline yet; match it as it stands once the guest waits on it.
    if (this.#partialQuiet && !this.#partialConsumed && this.#partial) {
      const m = w.pattern.exec(cleanLine(this.#partial));
      if (m) {
        this.#cursor = this.#lines.length;
        this.#partialConsumed = true;
        this.#settle(w, m);
        return true;
      }
    }
    return false;
  }

  #settle(w: Waiter, m: RegExpExecArray): void {
    if (w.timer) clearTimeout(w.timer);
    w.resolve(m);
  }

  #fail(w: Waiter): void {
    if (w.timer) clearTimeout(w.timer);
    w.reject(new SerialClosedError(w.pattern, Date.now() - w.started, this.lastLines(), this.who, this.#closed!));
  }
}
