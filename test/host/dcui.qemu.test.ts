// The host system in QEMU, driven over the serial line: the first boot asks for a root password
// and writes the default configuration; a reboot keeps password and network settings; a wrong
// password is refused; the log viewer shows this boot's log; agents restart; restore defaults
// brings the defaults back; `bankforge config` reads what the guest wrote, and what it sets is
// what the guest shows on its next boot. A screenshot of the DCUI on the framebuffer is kept
// under the OS tmpdir (the path is printed).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, open, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Machine } from '../../qemu/index.js';
import { scratch, tool } from '../helpers/tools.js';
import { cli } from '../helpers/cli.js';
import { buildQuiet } from '../helpers/images.js';
import { readConfigArea } from '../../disk/config.js';
import { BOOT_MS, STEP_MS } from '../helpers/machine.js';

const { dir, cleanup } = await scratch('bankforge-dcui-');

async function image(name: string): Promise<string> {
  const out = join(dir, `${name}.img`);
  await buildQuiet({ layout: 'small', out, version: '1.0.0', bootTimeout: 0 });
  return out;
}

async function say(m: Machine, prompt: RegExp, text: string): Promise<void> {
  await m.waitFor(prompt, { timeoutMs: STEP_MS });
  await m.sendText(`${text}\r`);
}

const MENU = /^Select \[0-6\]: /;

test('first boot sets the password; network, logs, agents; reboot keeps them; wrong password refused; reset restores defaults', async () => {
  const img = await image('dcui');
  const m = await Machine.start({ image: img });
  try {
    await m.waitFor(/^bankforge: ready version=1\.0\.0 bank=A /, { timeoutMs: BOOT_MS });
    await m.waitFor(/^ramfs: module base\.tar: 5 files/, { timeoutMs: STEP_MS });
    await m.waitFor(/^config: no saved configuration \(first boot\); writing the defaults$/, { timeoutMs: STEP_MS });
    await m.waitFor(/^DCUI: the root password is not set; set it now\.$/, { timeoutMs: STEP_MS });
    await say(m, /^New root password: /, 'one');
    await say(m, /^Confirm root password: /, 'two');
    await m.waitFor(/^DCUI: the passwords do not match$/, { timeoutMs: STEP_MS });
    await say(m, /^New root password: /, 'S3cret-1');
    await say(m, /^Confirm root password: /, 'S3cret-1');
    await m.waitFor(/^DCUI: root password set$/, { timeoutMs: STEP_MS });

    // Management network: a bad address is asked again; then static settings.
    await say(m, MENU, '2');
    await say(m, /^IPv4 configuration, dhcp or static \[dhcp\]: /, 'static');
    await say(m, /^IPv4 address \[\]: /, '10.0.0.300');
    await m.waitFor(/^DCUI: not an IPv4 address: 10\.0\.0\.300$/, { timeoutMs: STEP_MS });
    await say(m, /^IPv4 address \[\]: /, '10.0.0.5');
    await say(m, /^Subnet mask \[\]: /, '255.255.255.0');
    await say(m, /^Default gateway \[\]: /, '10.0.0.1');
    await say(m, /^DNS server \[\]: /, '10.0.0.2');
    await say(m, /^Hostname \[localhost\]: /, 'esx01');
    await m.waitFor(/^DCUI: management network saved: static 10\.0\.0\.5\/255\.255\.255\.0 gateway 10\.0\.0\.1 dns 10\.0\.0\.2 hostname esx01$/, { timeoutMs: STEP_MS });
    // The agents restart with the new settings; they run once the menu waits for a key, so
    // their lines follow the menu's prompt.
    await m.waitFor(/hostd: started \(start 2\): hostname esx01, management network static 10\.0\.0\.5\/255\.255\.255\.0/, { timeoutMs: STEP_MS });

    // The log of this boot, paged.
    await m.sendText('3\r');
    const [, n] = await m.waitFor(/^--- \/var\/log\/vmware\/vmkernel\.log, lines 1-20 of (\d+) ---$/, { timeoutMs: STEP_MS });
    assert.ok(Number(n) > 20, `the log has more than a page (${n} lines)`);
    await m.waitFor(/^bankforge kernel: version 1\.0\.0, bank A/, { timeoutMs: STEP_MS });
    await m.waitFor(/^--- Enter\/Down: next page/, { timeoutMs: STEP_MS });
    await m.sendText('\r');
    await m.waitFor(/^--- \/var\/log\/vmware\/vmkernel\.log, lines 21-\d+ of \d+ ---$/, { timeoutMs: STEP_MS });
    await m.waitFor(/^--- Enter\/Down: next page/, { timeoutMs: STEP_MS });
    await m.sendText('q');

    // Agents restart.
    await say(m, MENU, '4');
    await say(m, /^Restart the management agents\? \(y\/n\): /, 'y');
    await m.waitFor(/^DCUI: management agents restarted$/, { timeoutMs: STEP_MS });
    await m.waitFor(/vmsyslogd: started/, { timeoutMs: STEP_MS });
    await m.waitFor(/hostd: started \(start 3\)/, { timeoutMs: STEP_MS });

    // The screen shows the same DCUI: keep a picture of it.
    const shots = await mkdtemp(join(tmpdir(), 'bankforge-dcui-shot-'));
    const png = join(shots, 'dcui.png');
    await m.screenshot(png);
    assert.ok((await stat(png)).size > 1000);
    console.log(`\nDCUI screenshot: ${png}`);

    await m.sendText('6\r');
    await say(m, /^Reboot the host\? \(y\/n\): /, 'y');
    await m.waitFor(/^DCUI: rebooting$/, { timeoutMs: STEP_MS });

    // Second boot: the settings are back; a wrong password is refused.
    await m.waitFor(/^bankforge: ready version=1\.0\.0 bank=A /, { timeoutMs: BOOT_MS });
    await m.waitFor(/^config: loaded seq 3 from slot 0: hostname esx01, network static$/, { timeoutMs: STEP_MS });
    await m.waitFor(/^ Management network: static IPv4 10\.0\.0\.5\/255\.255\.255\.0, gateway 10\.0\.0\.1$/, { timeoutMs: STEP_MS });
    await say(m, /^Login password for root: /, 'S3cret-2');
    await m.waitFor(/^DCUI: login incorrect$/, { timeoutMs: STEP_MS });
    await say(m, /^Login password for root: /, 'S3cret-1');
    await m.waitFor(MENU, { timeoutMs: STEP_MS });

    // What the guest wrote, read from the host while it runs (the guest flushed it).
    const got = await cli(['config', img, 'get', '--json']);
    assert.is(got.exitCode, 0, got.stderr);
    const j = JSON.parse(got.stdout) as { seq: number; settings: Record<string, string> };
    assert.is(j.seq, 3);
    assert.is(j.settings.hostname, 'esx01');
    assert.is(j.settings['net.address'], '10.0.0.5');
    assert.match(j.settings['root.password']!, /^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
    // The hash is SHA-512 crypt as Linux computes it.
    const salt = j.settings['root.password']!.split('$')[2]!;
    const o = await tool('openssl', ['passwd', '-6', '-salt', salt, '-stdin'], 'S3cret-1\n');
    assert.is(o.stdout.trim(), j.settings['root.password']);

    // Restore defaults, with confirmation.
    await m.sendText('5\r');
    await say(m, /Type yes to confirm: /, 'no');
    await m.waitFor(/^DCUI: reset cancelled$/, { timeoutMs: STEP_MS });
    await say(m, MENU, '5');
    await say(m, /Type yes to confirm: /, 'yes');
    await m.waitFor(/^DCUI: configuration reset to defaults$/, { timeoutMs: STEP_MS });
    await m.waitFor(/^ Management network: IPv4 by DHCP$/, { timeoutMs: STEP_MS });
    await m.waitFor(/^DCUI: the root password is not set; set it now\.$/, { timeoutMs: STEP_MS });
  } finally {
    await m.stop();
  }
  const after = await cli(['config', img, 'get']);
  assert.match(after.stdout, /^hostname=localhost$/m);
  assert.match(after.stdout, /^net\.mode=dhcp$/m);
  assert.match(after.stdout, /^root\.password=$/m);
});

test('bankforge config set preseeds what the guest shows on its next boot; a torn save keeps the previous copy', async () => {
  const img = await image('preseed');
  const none = await cli(['config', img, 'get']);
  assert.is(none.exitCode, 0, none.stderr);
  assert.match(none.stderr, /no configuration saved yet/);
  const hash = (await tool('openssl', ['passwd', '-6', '-salt', 'preseedsalt', '-stdin'], 'from-host\n')).stdout.trim();
  const bad = await cli(['config', img, 'set', 'net.address=1.2.3']);
  assert.is(bad.exitCode, 2);
  assert.match(bad.stderr, /not an IPv4 address/);
  assert.is((await cli(['config', img, 'set', 'hostname=first'])).exitCode, 0);
  const set = await cli(['config', img, 'set', 'hostname=preseeded', 'net.mode=static', 'net.address=192.168.7.9', 'net.netmask=255.255.0.0', `root.password=${hash}`]);
  assert.is(set.exitCode, 0, set.stderr);
  assert.match(set.stdout, /^saved seq 2 in slot 1 of /);

  // A power cut in the middle of the next save: its slot holds half a record. The copy before stays.
  const area = await readConfigArea(img);
  const torn = await cli(['config', img, 'set', 'hostname=torn']);
  assert.is(torn.exitCode, 0);
  const fh = await open(img, 'r+');
  await fh.write(Buffer.alloc(16, 0xff), 0, 16, area.slots[0] + 30);
  await fh.close();
  const back = await cli(['config', img, 'get', 'hostname']);
  assert.is(back.stdout, 'hostname=preseeded');
  assert.is((await readConfigArea(img)).view.current, 1);

  const m = await Machine.start({ image: img });
  try {
    await m.waitFor(/^bankforge: ready version=1\.0\.0 bank=A /, { timeoutMs: BOOT_MS });
    await m.waitFor(/^config: loaded seq 2 from slot 1: hostname preseeded, network static$/, { timeoutMs: STEP_MS });
    await m.waitFor(/^ bankforge 1\.0\.0 \(bank A\) +host preseeded$/, { timeoutMs: STEP_MS });
    await m.waitFor(/^ Management network: static IPv4 192\.168\.7\.9\/255\.255\.0\.0/, { timeoutMs: STEP_MS });
    // This time on the PS/2 keyboard (kernel/kbd.c), as a person at the console types it.
    await m.waitFor(/^Login password for root: /, { timeoutMs: STEP_MS });
    await m.sendKeys(['f', 'r', 'o', 'm', 'minus', 'h', 'o', 's', 't', 'ret']);
    await m.waitFor(/^dcui: root logged in$/, { timeoutMs: STEP_MS });
    await m.sendKeys(['4', 'ret', 'shift-y', 'ret']);
    await m.waitFor(/^DCUI: management agents restarted$/, { timeoutMs: STEP_MS });
  } finally {
    await m.stop();
  }
});

test.after(cleanup);
test.run();
