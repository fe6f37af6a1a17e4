// Makes the README's pictures of the DCUI from a real boot (run: npm run pictures; needs QEMU
// and OVMF, takes a minute or two under TCG): a fresh image's first boot (the main page, then
// the password dialog F2 opens), then, after setting a password and a static management network
// through the DCUI itself (typed on the serial line), the main page, System Customization and the
// kernel log console (Alt+F12). Writes docs/dcui-first-boot.png, docs/dcui.png,
// docs/dcui-customize.png and docs/dcui-log.png. Run it again whenever the UI changes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from '../dist/builder/build.js';
import { Machine } from '../dist/qemu/index.js';
import { PACKAGE_ROOT } from '../dist/support/package-info.js';

const STEP = 120_000;
const docs = (name) => join(PACKAGE_ROOT, 'docs', name);
const dir = await mkdtemp(join(tmpdir(), 'bankforge-pictures-'));
const image = join(dir, 'esxi.img');
const F2 = '\x1bOQ', DOWN = '\x1b[B', ESC = '\x1b';

try {
  await build({ layout: 'small', out: image, version: '1.0.0', bootTimeout: 0, progress: { step() {}, done() {} } });
  const m = await Machine.start({ image });
  try {
    const screen = (re) => m.waitForScreen(re, { timeoutMs: STEP });
    const shot = async (name) => { await m.screenshot(docs(name)); console.log(`wrote docs/${name}`); };

    await screen(/<F2> Customize System\/View Logs[\s\S]*Shut Down\/Restart/);
    await m.sendText(F2);
    await screen(/The root password is not set\. Set it now:/);
    await shot('dcui-first-boot.png');
    await m.sendText('VMware-1\tVMware-1\r');
    await screen(/System Customization/);
    await m.sendText(DOWN);
    await screen(/IPv4: DHCP/);
    await m.sendText('\r');
    await screen(/IPv4 configuration:/);
    await m.sendText(` \t192.168.1.20\t255.255.255.0\t192.168.1.1\t192.168.1.1\t${'\x7f'.repeat(9)}esx01\r`);
    await screen(/Management network saved/);
    await m.sendText(DOWN);
    await screen(/<1> VMkernel/);
    await shot('dcui-customize.png');
    await m.sendText(ESC);
    await screen(/To manage this host, go to:[\s\S]*http:\/\/192\.168\.1\.20\/ \(STATIC\)/);
    await shot('dcui.png');
    await m.sendKeys(['alt-f12']);
    await screen(/hostd: started \(start 2\)/);
    await shot('dcui-log.png');
  } finally {
    await m.stop();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
