// Driving the DCUI over the serial line in its plain (line) mode, which is what the kernel picks
// under the tests' QEMU: no terminal answers its cursor-position query (kernel/serial_tui.c,
// docs/host.md). Plain mode prints each new page or dialog as text rows (trailing spaces cut),
// then the rows that change; kernel log lines come between them. A dialog is drawn over the
// page, so its rows carry the page's text on both sides: dialog text is matched unanchored
// (its title row ends the line: the frame's spaces after it are cut).
// Enter on the main page does what F2 does there.

import * as assert from 'uvu/assert';
import type { Machine } from '../../qemu/index.js';
import { STEP_MS } from './machine.js';

const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const KEY_BAR = /^ <F2> Customize System\/View Logs +<F12> Shut Down\/Restart$/;
const NOT_SET = /^ {2}The root password is not set: press F2 to set it\.$/;

export interface DcuiMain {
  /** The host name the page shows. */
  hostname: string;
  /** The page does not say that the root password is not set. */
  passwordSet: boolean;
}

/**
 * Waits for the DCUI's main page of `version` on `bank`, as plain mode prints it on the serial
 * line (title row to key bar), and reads what it shows. `timeoutMs` bounds the wait for the
 * title (a boot); the rest of the page follows within a step.
 */
export async function waitForDcuiMain(m: Machine, version: string, bank: 'A' | 'B', timeoutMs: number): Promise<DcuiMain> {
  const title = new RegExp(`^ {2}bankforge ${escape(version)} \\(bank ${bank}\\)$`);
  await m.waitFor(title, { timeoutMs });
  // The not-set line, when there is one, comes before the key bar that ends the page.
  const next = await m.waitFor(new RegExp(`${NOT_SET.source}|${KEY_BAR.source}`), { timeoutMs: STEP_MS });
  const passwordSet = !NOT_SET.test(next[0]);
  // The host name row is read once a later row has come: a wait can match a line the port has
  // only half delivered, which would cut the name.
  const lines = m.lines;
  let at = lines.length - 1;
  while (at >= 0 && !title.test(lines[at]!)) at--;
  const hostname = lines.slice(at + 1).map((l) => /^ {2}Host name: (.*)$/.exec(l)?.[1]).find((h) => h !== undefined);
  assert.ok(at >= 0 && hostname !== undefined, `the main page has a host name row:\n${lines.slice(Math.max(at, 0)).join('\n')}`);
  if (!passwordSet) await m.waitFor(KEY_BAR, { timeoutMs: STEP_MS });
  return { hostname: hostname!, passwordSet };
}

/** Waits for the main page and checks that it shows `hostname`; returns what it shows. */
export async function waitForDcuiHost(m: Machine, hostname: string, version: string, bank: 'A' | 'B', timeoutMs: number): Promise<DcuiMain> {
  const page = await waitForDcuiMain(m, version, bank, timeoutMs);
  assert.is(page.hostname, hostname, 'the host name on the DCUI\'s main page');
  return page;
}

/** Logs out of System Customization (Esc) and returns the main page that follows. */
async function logOut(m: Machine, version: string, bank: 'A' | 'B'): Promise<DcuiMain> {
  await m.sendText('\x1b');   // a lone Esc: the decoder takes it as the key after 50 ms of quiet
  await m.waitFor(/^dcui: root logged out$/, { timeoutMs: STEP_MS });
  return waitForDcuiMain(m, version, bank, STEP_MS);
}

/**
 * First boot, on the main page with no root password: Enter opens the Configure Password
 * dialog, `password` is typed twice; the kernel saves it in the configuration record (the
 * `config: saved` line's sequence number is returned) before the DCUI reports it set. Then
 * logs out, and the main page no longer says that the password is not set. The password is
 * never echoed on the line.
 */
export async function setRootPasswordOverSerial(m: Machine, password: string, version: string, bank: 'A' | 'B'): Promise<number> {
  const from = m.output.length;
  await m.sendText('\r');
  await m.waitFor(/ {3}Configure Password$/, { timeoutMs: STEP_MS });
  await m.waitFor(/The root password is not set\. Set it now:/, { timeoutMs: STEP_MS });
  await m.sendText(`${password}\t${password}\r`);
  const seq = Number((await m.waitFor(/^config: saved seq (\d+) to slot \d$/, { timeoutMs: STEP_MS }))[1]);
  await m.waitFor(/^users: password of root changed$/, { timeoutMs: STEP_MS });
  await m.waitFor(/^ {2}System Customization/, { timeoutMs: STEP_MS });
  await m.waitFor(/^ Root password set\.$/, { timeoutMs: STEP_MS });
  const main = await logOut(m, version, bank);
  assert.ok(main.passwordSet, 'the main page still says the root password is not set');
  assert.not.ok(m.output.slice(from).includes(password), 'the password was echoed on the serial line');
  return seq;
}

/**
 * A later boot, on the main page: Enter asks for root's password (Authentication Required, not
 * Configure Password, so one is set); a wrong one is refused, `password` logs in; then logs out.
 */
export async function loginOverSerial(m: Machine, password: string, version: string, bank: 'A' | 'B'): Promise<void> {
  await m.sendText('\r');
  await m.waitFor(/ {3}Authentication Required$/, { timeoutMs: STEP_MS });
  await m.waitFor(/Enter an authorized login name and password/, { timeoutMs: STEP_MS });
  await m.sendText(`not-${password}\r`);
  await m.waitFor(/^dcui: failed login for root$/, { timeoutMs: STEP_MS });
  await m.waitFor(/Login incorrect\./, { timeoutMs: STEP_MS });
  await m.sendText(`${password}\r`);
  await m.waitFor(/^dcui: root logged in$/, { timeoutMs: STEP_MS });
  await m.waitFor(/^ {2}System Customization/, { timeoutMs: STEP_MS });
  await logOut(m, version, bank);
}
