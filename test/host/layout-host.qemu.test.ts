// A layout's "host" section: initial settings land in the store's configuration area (the kernel
// reads them on first boot), and host files land in base.tar (replacing base/'s).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readBanks } from '../../disk/bank-state.js';
import { Bank } from '../../partitions/bankstate.js';
import { FatVolume, fileSectorDevice } from '../../partitions/fat/index.js';
import { LAYOUTS_DIR } from '../../builder/layout/load.js';
import { cli } from '../helpers/cli.js';
import { buildQuiet } from '../helpers/images.js';
import { mustRun, scratch } from '../helpers/tools.js';
import { BOOT_MS, withMachine } from '../helpers/machine.js';

async function layoutWithHost(dir: string, host: unknown): Promise<string> {
  const l = JSON.parse(await readFile(join(LAYOUTS_DIR, 'small.json'), 'utf8'));
  delete l.$schema;
  l.host = host;
  const file = join(dir, 'host.json');
  await writeFile(file, JSON.stringify(l));
  return file;
}

test('settings preseed the configuration, files go into base.tar, and the guest uses both', async () => {
  const { dir, cleanup } = await scratch();
  try {
    await mkdir(join(dir, 'extra'));
    await writeFile(join(dir, 'extra', 'site.conf'), 'site=lab-7\n');
    await writeFile(join(dir, 'motd'), 'Welcome to lab 7\n');
    const layout = await layoutWithHost(dir, {
      settings: { hostname: 'preseeded', 'net.mode': 'static', 'net.address': '10.1.2.3', 'net.netmask': '255.255.255.0' },
      files: [{ dir: 'extra', to: 'etc/vmware' }, { file: 'motd', to: 'etc/motd' }],
    });
    const img = join(dir, 'h.img');
    await buildQuiet({ layout, out: img, version: '1.0.0' });

    const got = await cli(['config', img, 'get', 'hostname', 'net.address']);
    assert.is(got.exitCode, 0, got.stderr);
    assert.match(got.stdout, /hostname=preseeded/);
    assert.match(got.stdout, /net\.address=10\.1\.2\.3/);

    const disk = await readBanks(img);
    const ref = disk.banks[Bank.A]!;
    const dev = await fileSectorDevice(img, ref.offset, ref.size, disk.sectorSize, false);
    const vol = await FatVolume.open(dev, { readOnly: true });
    await writeFile(join(dir, 'base.tar'), await vol.readFile('base.tar'));
    await vol.close();
    await dev.close();
    assert.is(await mustRun('tar', ['-xOf', join(dir, 'base.tar'), 'etc/vmware/site.conf']), 'site=lab-7');
    assert.is(await mustRun('tar', ['-xOf', join(dir, 'base.tar'), 'etc/motd']), 'Welcome to lab 7');
    assert.match(await mustRun('tar', ['-tf', join(dir, 'base.tar')]), /^etc\/passwd$/m, 'base/ is still there');

    await withMachine({ image: img, snapshot: true }, (m) => m.waitFor(/hostd: started .*hostname preseeded, management network static 10\.1\.2\.3/, { timeoutMs: BOOT_MS }));
  } finally {
    await cleanup();
  }
});

test('bad host sections are refused, naming the field, writing nothing', async () => {
  const { dir, cleanup } = await scratch();
  try {
    for (const [host, expect] of [
      [{ settings: { colour: 'blue' } }, /host\.settings\.colour: unknown setting colour/],
      [{ settings: { 'net.address': '10.1.2' } }, /host\.settings\.net\.address: net\.address: not an IPv4 address/],
      [{ files: [{ artifact: 'bank' }] }, /host\.files\[0\]\.artifact: the base system takes host files and directories/],
      [{ files: [{ dir: 'nowhere' }] }, /host\.files\[0\]\.dir: cannot read .*nowhere/],
      [{ users: [] }, /host\.users: unknown field/],
    ] as const) {
      const layout = await layoutWithHost(dir, host);
      const r = await cli(['build', '--layout', layout, '--out', join(dir, 'x.img')]);
      assert.is(r.exitCode, 3, r.stderr);
      assert.match(r.stderr, expect);
      assert.is(await readFile(join(dir, 'x.img')).then(() => true, () => false), false);
    }
  } finally {
    await cleanup();
  }
});

test.run();
