// The DCUI in QEMU, as a person uses it, asserted on what the person sees. One boot is driven
// only through the PS/2 keyboard and read with screenText() (the screendump matched against the
// kernel's font): first boot sets the password, a static management network, the log viewer a
// page at a time, agents restarted with the DCUI open (no log text in the page), the consoles on
// Alt+F1/F2/F12, F12 restart; the second boot shows what was saved, then resets to defaults and
// F12 shuts down (QEMU exits 0). The other boot is driven only through the serial line in ANSI
// mode and read as a terminal screen: login, password, network, logs, agents, a lone Esc that
// backs out of a dialog without losing the next key, reset, and F12 shut down. `bankforge config`
// reads what the guest saved, and what it sets is what the guest shows.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Machine, terminalOf, type Screen, type Terminal } from '../../qemu/index.js';
import { scratch, tool } from '../helpers/tools.js';
import { cli } from '../helpers/cli.js';
import { buildQuiet } from '../helpers/images.js';
import { readConfigArea } from '../../disk/config.js';
import { BOOT_MS, STEP_MS, exitWithin } from '../helpers/machine.js';

const { dir, cleanup } = await scratch('bankforge-dcui-');

async function image(name: string, kernelopt = ''): Promise<string> {
  const out = join(dir, `${name}.img`);
  await buildQuiet({ layout: 'small', out, version: '1.0.0', bootTimeout: 0, kernelopt });
  return out;
}

/** QEMU key codes (QMP send-key) for typing `text` on a US keyboard. */
function chords(text: string): string[] {
  const named: Record<string, string> = { '.': 'dot', '-': 'minus', ' ': 'spc', '/': 'slash', '\r': 'ret', '\t': 'tab' };
  return [...text].map((c) => named[c] ?? (/[A-Z]/.test(c) ? `shift-${c.toLowerCase()}` : c));
}

const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Types into the focused field of a dialog ('\b' deletes), three keys at a time, waiting until
 * the field (after `label`) shows what was typed: QEMU's PS/2 queue holds 16 bytes and drops
 * the rest when the guest falls behind, as it does when the host is busy.
 */
async function edit(m: Machine, label: string, from: string, keys: string, secret = false): Promise<string> {
  let v = from;
  const list = [...keys];
  for (let i = 0; i < list.length; i += 3) {
    const group = list.slice(i, i + 3);
    for (const k of group) v = k === '\b' ? v.slice(0, -1) : v + k;
    await m.sendKeys(group.map((k) => (k === '\b' ? 'backspace' : chords(k)[0]!)));
    await screen(m, new RegExp(`${escape(label)} +${escape(secret ? '*'.repeat(v.length) : v)} `));
  }
  return v;
}
const screen = (m: Machine, re: RegExp) => m.waitForScreen(re, { timeoutMs: STEP_MS });
const page = (s: Screen) => s.text.join('\n');
/** The row of the screen that holds `what`. */
const rowOf = (s: Screen, what: string) => s.text.findIndex((r) => r.includes(what));

const ITEMS = ['Configure Password', 'Configure Management Network', 'View System Logs', 'Restart Management Agents', 'Reset System Configuration'];
/** The one System Customization item drawn in the highlight colour. */
function highlighted(s: Screen): string {
  const bgs = ITEMS.map((item) => {
    const row = rowOf(s, item);
    assert.ok(row >= 0, `${item} is on the screen:\n${page(s)}`);
    return s.cells[row]![s.text[row]!.indexOf(item)]!.bg;
  });
  const odd = ITEMS.filter((_, i) => bgs.filter((b) => b === bgs[i]).length === 1);
  assert.is(odd.length, 1, `one item stands out: ${JSON.stringify(bgs)}`);
  return odd[0]!;
}

/** Lines the kernel logs while the DCUI is open; none may reach the DCUI's page. */
const LOG_TEXT = /vmsyslogd: started|hostd: started|dcui: |bankforge: ready|config: |ramfs: /;

async function keyboardDrive(): Promise<void> {
  const img = await image('kbd');
  const m = await Machine.start({ image: img });
  try {
    await m.waitFor(/^bankforge: ready version=1\.0\.0 bank=A /, { timeoutMs: BOOT_MS });
    let s = await screen(m, /<F2> Customize System\/View Logs +<F12> Shut Down\/Restart/);
    assert.is(s.unknown, 0, 'every cell is one of the kernel font\'s glyphs');
    assert.match(page(s), /bankforge 1\.0\.0 \(bank A\)/);
    assert.match(page(s), /\d+ MiB Memory/);
    assert.match(page(s), /Host name: localhost/);
    assert.match(page(s), /Management network: DHCP, no address yet/);
    assert.match(page(s), /The root password is not set: press F2 to set it\./);
    assert.not.match(page(s), LOG_TEXT, page(s));
    const top = s.cells[1]![0]!.bg, low = s.cells[s.rows - 4]![0]!.bg;
    assert.is.not(top, low, 'the upper and lower halves differ in colour');
    // The serial line got the same page in line mode (no terminal answered the kernel's query).
    await m.waitFor(/^dcui: line-mode DCUI on the serial line/, { timeoutMs: STEP_MS });
    await m.waitFor(/^ <F2> Customize System\/View Logs +<F12> Shut Down\/Restart$/, { timeoutMs: STEP_MS });

    // First boot: F2 asks for a password before anything else.
    await m.sendKeys(['f2']);
    await screen(m, /Configure Password[\s\S]*The root password is not set\. Set it now:/);
    await edit(m, 'New password:', '', 'one', true);
    await m.sendKeys(['tab']);
    await edit(m, 'Confirm password:', '', 'two', true);
    await m.sendKeys(['ret']);
    await screen(m, /The passwords do not match\./);
    await edit(m, 'New password:', '', 'S3cret-1', true);
    await m.sendKeys(['tab']);
    await edit(m, 'Confirm password:', '', 'S3cret-1', true);
    await m.sendKeys(['ret']);
    s = await screen(m, /System Customization/);
    assert.is(highlighted(s), 'Configure Password');
    assert.match(page(s), /Root password set\./, 'the status line');
    assert.match(page(s), /<Up\/Down> Select +<Enter> Change +<Esc> Log Out/);

    // Static management network; a bad address is pointed at and typed again.
    await m.sendKeys(['down']);
    s = await screen(m, /IPv4: DHCP/);
    assert.is(highlighted(s), 'Configure Management Network');
    await m.sendKeys(['ret']);
    await screen(m, /Configure Management Network[\s\S]*IPv4 configuration: +< dhcp >/);
    await m.sendKeys(['spc']);
    await screen(m, /< static >/);
    for (const [label, value] of [['IPv4 address:', '10.0.0.300'], ['Subnet mask:', '255.255.255.0'], ['Default gateway:', '10.0.0.1'], ['DNS server:', '10.0.0.2']] as const) {
      await m.sendKeys(['tab']);
      await edit(m, label, '', value);
    }
    await m.sendKeys(['tab']);
    await edit(m, 'Host name:', 'localhost', `${'\b'.repeat(9)}esx01`);
    await m.sendKeys(['ret']);
    await screen(m, /Not an IPv4 address: 10\.0\.0\.300/);
    await edit(m, 'IPv4 address:', '10.0.0.300', '\b\b\b5');
    await m.sendKeys(['ret']);
    s = await screen(m, /Management network saved: static 10\.0\.0\.5\/255\.255\.255\.0, host name esx01\./);
    assert.match(page(s), /Address: 10\.0\.0\.5\/255\.255\.255\.0/);
    await m.waitFor(/hostd: started \(start 2\): hostname esx01, management network static 10\.0\.0\.5\/255\.255\.255\.0/, { timeoutMs: STEP_MS });

    // Agents restart with the DCUI open, several times (which also makes the log longer than a
    // screen): their log lines stay out of the page.
    await m.sendKeys(['down']);
    await screen(m, /<1> VMkernel/);
    await m.sendKeys(['down']);
    await screen(m, /Restart vmsyslogd and hostd\. Remote/);
    for (let start = 3; start <= 8; start++) {
      await m.sendKeys(['ret']);
      await screen(m, /Restart vmsyslogd and hostd now\?[\s\S]*<F11> Restart +<Esc> Cancel/);
      await m.sendKeys(['f11']);
      await m.waitFor(new RegExp(`hostd: started \\(start ${start}\\)`), { timeoutMs: STEP_MS });
    }
    s = await screen(m, /Management agents restarted\./);
    assert.not.match(page(s), LOG_TEXT, page(s));
    assert.is(highlighted(s), 'Restart Management Agents');

    // The log of this boot, a page at a time.
    await m.sendKeys(['up']);
    await screen(m, /<1> VMkernel/);
    await m.sendKeys(['ret']);
    s = await screen(m, /vmkernel\.log +lines 1-(\d+) of (\d+)/);
    const [, per, total] = /lines 1-(\d+) of (\d+)/.exec(page(s))!;
    assert.ok(Number(total) > Number(per), `more than a page: ${per} of ${total}`);
    assert.match(page(s), /bankforge kernel: version 1\.0\.0, bank A/);
    await m.sendKeys(['pgdn']);
    s = await screen(m, new RegExp(`lines ${Number(per) + 1}-\\d+ of \\d+`));
    assert.not.match(page(s), /bankforge kernel: version 1\.0\.0/, 'the first page is gone');
    await m.sendKeys(['pgup']);
    await screen(m, /lines 1-\d+ of/);
    await m.sendKeys(['esc']);
    s = await screen(m, /System Customization/);
    assert.is(highlighted(s), 'View System Logs');
    await m.sendKeys(['down']);
    await screen(m, /Restart vmsyslogd and hostd\. Remote/);

    // The consoles: the kernel log on Alt+F12, a shell-less console on Alt+F1, the DCUI on Alt+F2.
    await m.sendKeys(['alt-f12']);
    s = await screen(m, /hostd: started \(start 8\)/);
    assert.match(page(s), /dcui: management agents restarted/);
    assert.not.match(page(s), /System Customization/);
    await m.sendKeys(['down', 'ret']);   // not the DCUI's while the log is on the screen
    await m.sendKeys(['alt-f1']);
    await screen(m, /bankforge has no shell on this console\./);
    await m.sendKeys(['alt-f2']);
    s = await screen(m, /System Customization/);
    assert.is(highlighted(s), 'Restart Management Agents', 'the keys typed on the log console did not move it');

    // Log out: the main page says where to manage the host.
    await m.sendKeys(['esc']);
    s = await screen(m, /To manage this host, go to:/);
    assert.match(page(s), /http:\/\/esx01\//);
    assert.match(page(s), /http:\/\/10\.0\.0\.5\/ \(STATIC\)/);
    assert.match(page(s), /Host name: esx01/);

    // F12 asks for the password, then offers shut down and restart.
    await m.sendKeys(['f12']);
    await screen(m, /Authentication Required[\s\S]*Enter an authorized login name and password for esx01\./);
    await edit(m, 'Password:', '', 'S3cret-2', true);
    await m.sendKeys(['ret']);
    await screen(m, /Login incorrect\./);
    await edit(m, 'Password:', '', 'S3cret-1', true);
    await m.sendKeys(['ret']);
    await screen(m, /<F2> Shut Down +<F11> Restart +<Esc> Cancel/);
    await m.sendKeys(['f11']);

    // Second boot: the settings are back.
    await m.waitFor(/^bankforge: ready version=1\.0\.0 bank=A /, { timeoutMs: BOOT_MS });
    await m.waitFor(/^config: loaded seq 3 from slot 0: hostname esx01, network static$/, { timeoutMs: STEP_MS });
    s = await screen(m, /To manage this host, go to:[\s\S]*http:\/\/10\.0\.0\.5\/ \(STATIC\)/);
    assert.match(page(s), /Management network: 10\.0\.0\.5\/255\.255\.255\.0 \(static\), gateway 10\.0\.0\.1/);

    // What the guest saved, read from the host while it runs: SHA-512 crypt as Linux computes it.
    const got = await cli(['config', img, 'get', '--json']);
    assert.is(got.exitCode, 0, got.stderr);
    const j = JSON.parse(got.stdout) as { seq: number; settings: Record<string, string> };
    assert.is(j.settings.hostname, 'esx01');
    assert.is(j.settings['net.dns'], '10.0.0.2');
    const salt = j.settings['root.password']!.split('$')[2]!;
    assert.is((await tool('openssl', ['passwd', '-6', '-salt', salt, '-stdin'], 'S3cret-1\n')).stdout.trim(), j.settings['root.password']);

    // Reset to defaults, confirmed with one key; with no password, F12 needs no login.
    await m.sendKeys(['f2']);
    await screen(m, /Authentication Required/);
    await edit(m, 'Password:', '', 'S3cret-1', true);
    await m.sendKeys(['ret']);
    await screen(m, /System Customization/);
    for (const next of [/IPv4: static/, /<1> VMkernel/, /Restart vmsyslogd and hostd\. Remote/, /Return the root password, the management/]) {
      await m.sendKeys(['down']);
      await screen(m, next);
    }
    await m.sendKeys(['ret']);
    await screen(m, /Reset System Configuration[\s\S]*<F11> Reset +<Esc> Cancel/);
    await m.sendKeys(['esc']);
    s = await screen(m, /System Customization/);
    assert.is(highlighted(s), 'Reset System Configuration');
    await m.sendKeys(['ret']);
    await screen(m, /<F11> Reset +<Esc> Cancel/);
    await m.sendKeys(['f11']);
    s = await screen(m, /Configuration reset to defaults\./);
    assert.match(page(s), /Host name: localhost/);
    assert.match(page(s), /The root password is not set/);
    await m.sendKeys(['f12']);
    await screen(m, /<F2> Shut Down +<F11> Restart/);
    await m.sendKeys(['f2']);
    const status = await exitWithin(m, STEP_MS);
    assert.is(status, 0, 'QEMU exits by itself, with status 0, after ACPI S5');
    assert.match(m.output, /power: switching off \(ACPI S5/);
  } finally {
    await m.stop();
  }
  const after = await cli(['config', img, 'get']);
  assert.match(after.stdout, /^hostname=localhost$/m);
  assert.match(after.stdout, /^net\.mode=dhcp$/m);
  assert.match(after.stdout, /^root\.password=$/m);
}

// Keys as an xterm sends them.
const KEY = { up: '\x1b[A', down: '\x1b[B', f2: '\x1bOQ', f11: '\x1b[23~', f12: '\x1b[24~', esc: '\x1b', enter: '\r', bs: '\x7f' };

async function see(t: Terminal, re: RegExp): Promise<string> {
  return (await t.waitFor(re, STEP_MS)).join('\n');
}

/** The highlighted System Customization item on the serial terminal (its SGR background). */
function termHighlighted(t: Terminal): string {
  const text = t.text;
  const bgs = ITEMS.map((item) => {
    const row = text.findIndex((r) => r.includes(item));
    assert.ok(row >= 0, `${item} on the terminal:\n${text.join('\n')}`);
    return t.cells[row]![text[row]!.indexOf(item)]!.bg;
  });
  const odd = ITEMS.filter((_, i) => bgs.filter((b) => b === bgs[i]).length === 1);
  assert.is(odd.length, 1, JSON.stringify(bgs));
  return odd[0]!;
}

async function serialDrive(): Promise<void> {
  const img = await image('serial', 'dcui.serial=ansi');
  const hash = (await tool('openssl', ['passwd', '-6', '-salt', 'preseedsalt', '-stdin'], 'from-host\n')).stdout.trim();
  assert.is((await cli(['config', img, 'set', 'hostname=first'])).exitCode, 0);
  const set = await cli(['config', img, 'set', 'hostname=preseeded', 'net.mode=static', 'net.address=192.168.7.9', 'net.netmask=255.255.0.0', `root.password=${hash}`]);
  assert.is(set.exitCode, 0, set.stderr);
  // A power cut in the middle of the next save: its slot holds half a record. The copy before stays.
  const area = await readConfigArea(img);
  assert.is((await cli(['config', img, 'set', 'hostname=torn'])).exitCode, 0);
  const fh = await open(img, 'r+');
  await fh.write(Buffer.alloc(16, 0xff), 0, 16, area.slots[0]! + 30);
  await fh.close();
  assert.is((await cli(['config', img, 'get', 'hostname'])).stdout, 'hostname=preseeded');

  const m = await Machine.start({ image: img });
  try {
    await m.waitFor(/^config: loaded seq 2 from slot 1: hostname preseeded, network static$/, { timeoutMs: BOOT_MS });
    await m.waitFor(/^dcui: full-screen DCUI on the serial line \(ANSI\)/, { timeoutMs: STEP_MS });
    const t = terminalOf(m);
    let s = await see(t, /<F2> Customize System\/View Logs +<F12> Shut Down\/Restart/);
    assert.match(s, /Host name: preseeded/);
    assert.match(s, /http:\/\/192\.168\.7\.9\/ \(STATIC\)/);
    assert.not.match(s, LOG_TEXT);
    const logged = m.output.length;

    await m.sendText(KEY.f2);
    await see(t, /Authentication Required/);
    await m.sendText(`nope${KEY.enter}`);
    await see(t, /Login incorrect\./);
    await m.sendText(`from-host${KEY.enter}`);
    await see(t, /System Customization/);
    assert.is(termHighlighted(t), 'Configure Password');

    await m.sendText(KEY.enter);
    await see(t, /Type the new root password twice\./);
    await m.sendText(`Serial-2\tSerial-2${KEY.enter}`);
    await see(t, /Root password set\./);

    await m.sendText(KEY.down + KEY.enter);
    await see(t, /IPv4 configuration: +< static >/);
    await m.sendText(`\t${KEY.bs.repeat(11)}192.168.7.10\t\t\t\t${KEY.bs.repeat(9)}esx02${KEY.enter}`);
    s = await see(t, /Management network saved: static 192\.168\.7\.10\/255\.255\.0\.0, host name esx02\./);

    // A lone Esc backs out of the dialog; the key typed after it is not lost.
    await m.sendText(KEY.enter);
    await see(t, /IPv4 configuration:/);
    await m.sendText(KEY.esc);
    s = await see(t, /System Customization(?![\s\S]*IPv4 configuration:)/);
    await m.sendText(KEY.down);
    await t.waitFor(/<1> VMkernel/, STEP_MS);
    assert.is(termHighlighted(t), 'View System Logs');

    // The log, a page at a time (a page is what the 24-row terminal holds).
    await m.sendText(KEY.enter);
    s = await see(t, /vmkernel\.log +lines 1-21 of (\d+)/);
    assert.match(s, /bankforge kernel: version 1\.0\.0, bank A/);
    await m.sendText(KEY.enter);
    s = await see(t, /vmkernel\.log +lines 22-\d+ of \d+/);
    await m.sendText('q');
    await see(t, /System Customization/);

    await m.sendText(KEY.down + KEY.enter);
    await see(t, /<F11> Restart +<Esc> Cancel/);
    await m.sendText(KEY.f11);
    s = await see(t, /Management agents restarted\./);
    assert.not.match(s, LOG_TEXT);
    // The kernel log stays off the serial line while the DCUI owns it (the log viewer above
    // showed earlier lines; this restart's came after it).
    assert.not.match(m.output.slice(logged), /hostd: started \(start 3\)/);

    await m.sendText(KEY.down + KEY.enter);
    await see(t, /<F11> Reset +<Esc> Cancel/);
    await m.sendText(KEY.f11);
    s = await see(t, /Configuration reset to defaults\./);
    assert.match(s, /Host name: localhost/);
    await m.sendText(KEY.f12);
    await see(t, /<F2> Shut Down +<F11> Restart/);
    await m.sendText(KEY.f2);
    const status = await exitWithin(m, STEP_MS);
    assert.is(status, 0, 'QEMU exits by itself after ACPI S5');
  } finally {
    await m.stop();
  }
  const after = await cli(['config', img, 'get']);
  assert.match(after.stdout, /^hostname=localhost$/m);
  assert.match(after.stdout, /^root\.password=$/m);
}

// The two machines boot side by side (the suite runs at most two QEMUs at a time; the other
// files' boots do not overlap this one's), so the file takes about as long as its longer drive.
let runs: { keyboard: Promise<void>; serial: Promise<void> };
test.before(() => {
  runs = { keyboard: keyboardDrive(), serial: serialDrive() };
  for (const r of Object.values(runs)) r.catch(() => undefined);   // reported by the test that owns it
});
test.after(async () => {
  await Promise.allSettled(Object.values(runs));
  await cleanup();
});

test('PS/2 keyboard and the screen: password, static network, logs, agents, consoles, restart; then the saved state, reset, shut down', () => runs.keyboard);
test('serial line, ANSI: preseeded by bankforge config; login, password, network, logs, agents, a lone Esc, reset, shut down', () => runs.serial);

test.run();
