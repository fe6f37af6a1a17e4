// A QMP client (QEMU Machine Protocol) over any duplex stream: JSON objects one per line. QEMU
// opens with a greeting, accepts nothing but qmp_capabilities until then, and answers each
// command with a "return" or an "error" carrying the id we sent; asynchronous "event" messages
// come in between and are not needed here.

import type { Duplex } from 'node:stream';
import { BankforgeError, EXIT } from '../support/errors.js';

export interface QmpGreeting { QMP: { version: { qemu: { major: number; minor: number; micro: number }; package: string }; capabilities: string[] } }

/** QEMU refused a command: `errorClass` and `desc` are QEMU's own. */
/** QEMU refused a command we sent: our bug or QEMU's, not the user's input. */
export class QmpError extends BankforgeError {
  constructor(readonly command: string, readonly errorClass: string, readonly desc: string) {
    super(`QMP ${command} failed: ${errorClass}: ${desc}`, EXIT.internal);
  }
}

type Message =
  | QmpGreeting
  | { return: unknown; id?: number }
  | { error: { class: string; desc: string }; id?: number }
  | { event: string };

interface Pending { command: string; resolve(v: unknown): void; reject(e: Error): void }

export class QmpClient {
  #buffer = '';
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #closed: string | undefined;
  #greeting: Promise<QmpGreeting>;

  constructor(private readonly stream: Duplex) {
    let greeted: (g: QmpGreeting) => void;
    let refused: (e: Error) => void;
    this.#greeting = new Promise((resolve, reject) => { greeted = resolve; refused = reject; });
    this.#greeting.catch(() => undefined);
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let nl: number;
      while ((nl = this.#buffer.indexOf('\n')) >= 0) {
        const line = this.#buffer.slice(0, nl).trim();
        this.#buffer = this.#buffer.slice(nl + 1);
        if (line) this.#receive(JSON.parse(line) as Message, greeted);
      }
    });
    // QEMU exiting resets the socket; that is the end of the session, not an error of ours.
    stream.on('error', (e) => this.#close(`QMP connection failed: ${e.message}`, refused));
    stream.on('close', () => this.#close('QMP connection closed (QEMU exited)', refused));
  }

  /** Waits for the greeting and leaves capabilities negotiation mode. */
  async handshake(): Promise<QmpGreeting> {
    const greeting = await this.#greeting;
    await this.execute('qmp_capabilities');
    return greeting;
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.#closed !== undefined) return Promise.reject(new Error(`cannot send QMP ${command}: ${this.#closed}`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject });
      this.stream.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    });
  }

  close(): void {
    this.stream.destroy();
  }

  #receive(msg: Message, greeted: (g: QmpGreeting) => void): void {
    if ('QMP' in msg) { greeted(msg); return; }
    if ('event' in msg) return;
    const pending = msg.id === undefined ? undefined : this.#pending.get(msg.id);
    if (!pending) return;
    this.#pending.delete(msg.id!);
    if ('error' in msg) pending.reject(new QmpError(pending.command, msg.error.class, msg.error.desc));
    else pending.resolve(msg.return);
  }

  #close(why: string, refused: (e: Error) => void): void {
    if (this.#closed !== undefined) return;
    this.#closed = why;
    refused(new Error(`no QMP greeting: ${why}`));
    for (const [, p] of this.#pending) p.reject(new Error(`QMP ${p.command} got no answer: ${why}`));
    this.#pending.clear();
  }
}
