// bundle, upgrade, status, rollback and mark-good on images, without booting: what is refused
// (before any write), what is written (only the inactive bank, a FAT volume fsck.fat accepts,
// exactly the bundle's files), and what status reports.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync } from 'node:crypto';
import { copyFile, open, readFile, truncate, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readBanks } from '../../../disk/bank-state.js';
import { DEFAULT_EPOCH } from '../../../builder/build.js';
import { createBundle } from '../../../builder/bundle/create.js';
import { readBundle } from '../../../builder/bundle/read.js';
import { loadPublicKey } from '../../../builder/bundle/keys.js';
import { sha256 } from '../../../partitions/bank-files.js';
import type { StatusReport } from '../../../disk/status.js';
import type { BlockDevice } from '../../../disk/device.js';
import { upgrade } from '../../../disk/upgrade/upgrade.js';
import { Bank, BootState, Reason, StateEvent } from '../../../partitions/bankstate.js';
import { FatVolume, fileSectorDevice } from '../../../partitions/fat/index.js';
import { STATE } from '../../../partitions/bankstate.js';
import { cli } from '../../helpers/cli.js';
import { buildQuiet, changeBank } from '../../helpers/images.js';
import { scratch, tool } from '../../helpers/tools.js';

const { dir, cleanup } = await scratch('bankforge-upgrade-');
const keys = generateKeyPairSync('ed25519');
const priv = join(dir, 'key.pem'), pub = join(dir, 'pub.pem'), otherPub = join(dir, 'other.pem');
await writeFile(priv, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
await writeFile(pub, keys.publicKey.export({ type: 'spki', format: 'pem' }));
await writeFile(otherPub, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));

const fresh = join(dir, 'fresh.img');
await buildQuiet({ layout: 'small', out: fresh, version: '1.0.0' });
const signed = join(dir, '2.0.0.bfb');
await createBundle({ version: '2.0.0', layout: 'small', out: signed, kernelopt: '', bootTimeout: 0, epoch: DEFAULT_EPOCH, signKey: priv });
const esxiBundle = join(dir, 'esxi-2.0.0.bfb');
await createBundle({ version: '2.0.0', layout: 'esxi', out: esxiBundle, kernelopt: '', bootTimeout: 0, epoch: DEFAULT_EPOCH });

let n = 0;
async function copy(src = fresh): Promise<string> {
  const out = join(dir, `t${n++}.img`);
  await copyFile(src, out);
  return out;
}
async function region(img: string, offset: number, size: number): Promise<string> {
  const fh = await open(img, 'r');
  try {
    const b = Buffer.alloc(size);
    await fh.read(b, 0, size, offset);
    return sha256(b);
  } finally {
    await fh.close();
  }
}
const status = async (img: string) => JSON.parse((await cli(['status', img, '--json'])).stdout) as StatusReport;

test('a signed bundle reads back with its manifest: every file hashed, the banks it fits named', async () => {
  const b = await readBundle(signed, { pubkey: await loadPublicKey(pub) });
  assert.is(b.signature, 'verified');
  assert.is(b.manifest.version, '2.0.0');
  assert.equal([...b.files.keys()], b.manifest.files.map((f) => f.name));
  for (const f of ['SHA256SUMS', 'boot.cfg', 'kernel.elf']) assert.ok(b.files.has(f), f);
  for (const f of b.manifest.files) assert.is(sha256(b.files.get(f.name)!), f.sha256);
  assert.equal(b.manifest.fits.map((f) => `${f.filesystem}:${f.partitionSize}:${f.sectorSize}`), ['fat16:20971520:512', 'fat16:20971520:4096']);
  assert.match(b.files.get('boot.cfg')!.toString(), /^build=2\.0\.0$/m);
});

test('tampered, truncated, padded, unsigned-but-key-given, wrong-key and wrong-layout bundles are refused, and the target is not written', async () => {
  const img = await copy();
  const before = sha256(await readFile(img));
  const bad = async (name: string, make: (path: string) => Promise<void>, pubkey: string | undefined, message: RegExp) => {
    const path = join(dir, `${name}.bfb`);
    await copyFile(signed, path);
    await make(path);
    const r = await cli(['upgrade', img, path, ...(pubkey ? ['--pubkey', pubkey] : ['--allow-unverified'])]);
    assert.is(r.exitCode, 3, `${name}: ${r.stderr}`);
    assert.match(r.stderr, message, name);
  };
  const flip = (at: (size: number) => number) => async (path: string) => {
    const fh = await open(path, 'r+');
    const size = (await fh.stat()).size;
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at(size));
    b[0] ^= 0x01;
    await fh.write(b, 0, 1, at(size));
    await fh.close();
  };
  await bad('payload-flip', flip((s) => s - 1000), undefined, /sha256 [0-9a-f]{64}, the manifest says/);
  await bad('payload-flip-signed', flip((s) => s - 1000), pub, /sha256 [0-9a-f]{64}, the manifest says/);
  await bad('manifest-flip', flip(() => 60), pub, /signature at offset \d+ does not verify/);
  await bad('truncated', async (p) => truncate(p, (await readFile(p)).length - 1), undefined, /truncated: the manifest's files need a file of \d+ bytes, this one has \d+/);
  await bad('header-only', async (p) => truncate(p, 10), undefined, /truncated: 10 bytes, a bundle header alone is 24/);
  await bad('padded', async (p) => appendFile(p, 'x'), undefined, /trailing data/);
  await bad('wrong-key', async () => undefined, otherPub, /does not verify with the given public key/);
  await bad('not-a-bundle', async (p) => writeFile(p, Buffer.alloc(4096, 7)), undefined, /offset 0: expected magic BFBUNDLE/);
  const unsigned = join(dir, 'plain-2.0.0.bfb');
  await createBundle({ version: '2.0.0', layout: 'small', out: unsigned, kernelopt: '', bootTimeout: 0, epoch: DEFAULT_EPOCH });
  await bad('unsigned', (p) => copyFile(unsigned, p), pub, /not signed, but --pubkey was given/);
  await bad('wrong-layout', (p) => copyFile(esxiBundle, p), undefined, /made for bank partitions of 50331648 bytes with 512-byte sectors, 50331648 bytes with 4096-byte sectors; bank B of .* is 20971520 bytes with 512-byte sectors/);
  assert.is(sha256(await readFile(img)), before, 'not one byte of the target changed');
});

test('upgrade writes only the inactive bank: a FAT fsck.fat accepts, exactly the bundle files (old extra files gone), state new with updated + 1', async () => {
  const img = await copy();
  const disk = await readBanks(img);
  const a = disk.banks[Bank.A]!, b = disk.banks[Bank.B]!;
  // An extra file in the old bank B must not survive: the new volume is fresh, not an overlay.
  const dev = await fileSectorDevice(img, b.offset, b.size - STATE.areaSize, disk.sectorSize, true);
  const vol = await FatVolume.open(dev);
  await vol.writeFile('OLD.TXT', Buffer.alloc(70000, 1));
  await vol.close();
  await dev.close();
  const whole = (await open(img, 'r').then(async (fh) => { const s = (await fh.stat()).size; await fh.close(); return s; }));
  const outside = async () => [await region(img, 0, b.offset), await region(img, b.offset + b.size, whole - b.offset - b.size)];
  const keep = await outside();
  const aBefore = await region(img, a.offset, a.size);

  const r = await cli(['upgrade', img, signed, '--pubkey', pub, '--tries', '5']);
  assert.is(r.exitCode, 0, r.stderr);
  assert.equal(await outside(), keep, 'nothing outside bank B changed');
  assert.is(await region(img, a.offset, a.size), aBefore, 'bank A untouched');

  const fat = join(dir, 'bankB.fat');
  const fh = await open(img, 'r');
  const buf = Buffer.alloc(b.size - STATE.areaSize);
  await fh.read(buf, 0, buf.length, b.offset);
  await fh.close();
  await writeFile(fat, buf);
  const fsck = await tool('fsck.fat', ['-n', fat]);
  assert.is(fsck.exitCode, 0, fsck.all);
  const mdir = await tool('mdir', ['-i', fat, '-b', '::/']);
  const bundle = await readBundle(signed, { pubkey: await loadPublicKey(pub) });
  assert.equal(mdir.stdout.trim().split('\n').map((l) => l.replace('::/', '').toUpperCase()).sort(), [...bundle.files.keys()].map((f) => f.toUpperCase()).sort());

  const s = await status(img);
  assert.is(s.next, 'B');
  const sb = s.banks.find((x) => x.bank === 'B')!;
  assert.equal([sb.bootstate, sb.version, sb.updated, sb.triesLeft, sb.triesMax], ['new', '2.0.0', 2, 5, 5]);
  assert.equal(sb.history.map((h) => h.event), ['installed', 'invalid', 'installed']);
  assert.is(sb.history[1]!.reason, 'upgrade started');
  assert.ok(sb.copies[0] !== null && sb.copies[1] !== null, 'both copies hold the new state');
  assert.equal(s.loaderWrites, ['B: on trial, try 1 of 5']);
});

test('refusals: the version already booting (unless --force), a booting bank still on trial, no bootable bank, bad --tries', async () => {
  const img = await copy();
  const same = join(dir, 'same.bfb');
  await createBundle({ version: '1.0.0', layout: 'small', out: same, kernelopt: '', bootTimeout: 0, epoch: DEFAULT_EPOCH });
  let r = await cli(['upgrade', img, same]);
  assert.is(r.exitCode, 3);
  assert.match(r.stderr, /version 1\.0\.0 is already in bank A, the bank that boots; --force installs it into bank B anyway/);
  assert.is((await cli(['upgrade', img, same, '--force', '-q'])).exitCode, 0);
  r = await cli(['upgrade', img, signed, '--pubkey', pub]);
  assert.is(r.exitCode, 3);
  assert.match(r.stderr, /bank B \(1\.0\.0\) boots next but is still on trial \(new\)/);
  r = await cli(['upgrade', img, signed, '--pubkey', pub, '--tries', '16']);
  assert.match(r.stderr, /--tries: expected from 1 to 15, got "16"/);
  // issue 15 item 10: what was typed, not what yargs made of it ("" was reported as 0)
  r = await cli(['upgrade', img, signed, '--pubkey', pub, '--tries', '']);
  assert.is(r.exitCode, 3);
  assert.match(r.stderr, /--tries: expected from 1 to 15, got ""/);
});

test('mark-good keeps the bank on trial; rollback swaps to the other valid bank and back; rollback to an invalid bank is refused with its reason', async () => {
  const img = await copy();
  assert.is((await cli(['upgrade', img, signed, '--pubkey', pub, '-q'])).exitCode, 0);
  let r = await cli(['mark-good', img]);
  assert.match(r.stderr, /bank B \(2\.0\.0\) marked good/);
  r = await cli(['mark-good', img]);
  assert.match(r.stderr, /bank B \(2\.0\.0\) is already valid; nothing written/);
  r = await cli(['rollback', img]);
  assert.is(r.exitCode, 0, r.stderr);
  let s = await status(img);
  assert.is(s.next, 'A');
  const a = s.banks.find((x) => x.bank === 'A')!;
  assert.equal([a.reason, a.detail, a.updated, a.history[0]!.event], ['rolled back', 'rolled back from bank B (2.0.0)', 3, 'rollback']);
  assert.is((await cli(['rollback', img, '-q'])).exitCode, 0);
  s = await status(img);
  assert.is(s.next, 'B');
  assert.is(s.banks.find((x) => x.bank === 'B')!.updated, 4);

  // An upgrade cut off after its first step leaves bank B invalid, "upgrade started".
  const half = await copy();
  await changeBank(half, Bank.B, (st) => { st.bootstate = BootState.Invalid; st.reason = Reason.UpgradeStarted; }, StateEvent.Invalid);
  r = await cli(['rollback', half]);
  assert.is(r.exitCode, 3);
  assert.match(r.stderr, /bank B is invalid: upgrade started; only a valid bank can be rolled back to/);
  assert.match((await cli(['status', half])).stdout, /^next boot: bank A \(1\.0\.0\)$/m);
});

test('a volume that reads back different from what was written stops the upgrade: the bank stays invalid, the old bank keeps booting', async () => {
  const img = await copy();
  const b = (await readBanks(img)).banks[Bank.B]!;
  // A disk that drops a write silently: the volume's reads come back with one byte flipped.
  const flaky = (dev: BlockDevice): BlockDevice => ({
    get name() { return dev.name; },
    get size() { return dev.size; },
    read: async (o, l) => {
      const data = await dev.read(o, l);
      if (o === b.offset && l > 4096) data[4000] ^= 0xff;
      return data;
    },
    write: (o, d) => dev.write(o, d),
    flush: () => dev.flush(),
    close: () => dev.close(),
  });
  const err = await upgrade({ target: img, bundle: signed, pubkey: await loadPublicKey(pub), tries: 3, force: false, wrap: flaky }).then(() => undefined, (e: Error) => e);
  assert.ok(err, 'the upgrade failed');
  assert.match(err.message, /read-back differs from what was written at partition byte 4000; the bank stays invalid \(upgrade started\) and bank A keeps booting/);
  const s = await status(img);
  assert.is(s.next, 'A');
  const sb = s.banks.find((x) => x.bank === 'B')!;
  assert.equal([sb.bootstate, sb.reason], ['invalid', 'upgrade started']);
});

test('a 4096-byte-sector image upgrades too (the bundle fits both sector sizes)', async () => {
  const img = join(dir, 'fourk.img');
  await buildQuiet({ layout: 'esxi', out: img, version: '1.0.0', sectorSize: 4096 });
  const r = await cli(['upgrade', img, esxiBundle, '--json']);
  assert.is(r.exitCode, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), { bank: 'B', version: '2.0.0', previous: '1.0.0', updated: 2, signature: 'absent' });
  const b = (await readBanks(img)).banks[Bank.B]!;
  const dev = await fileSectorDevice(img, b.offset, b.size - STATE.areaSize, 4096, false);
  const vol = await FatVolume.open(dev, { readOnly: true });
  assert.match((await vol.readFile('boot.cfg')).toString(), /^build=2\.0\.0$/m);
  await vol.close();
  await dev.close();
});

test.after(cleanup);
test.run();
