// The host system's C code built for the host under ASan and UBSan (test/c/system-host.c):
// SHA-512 against node:crypto, SHA-512 crypt against openssl passwd -6, the ustar reader and the
// in-memory filesystem against archives from our writer and GNU tar, thousands of damaged
// archives, and the configuration record against its TypeScript twin.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compileHost, HostProgram } from '../helpers/c-host.js';
import { mustRun, scratch, tool } from '../helpers/tools.js';
import { treeEntries, ustar } from '../../builder/pipeline/ustar.js';
import { BASE_DIR } from '../../builder/pipeline/bank.js';
import { decodeRecord, encodeRecord, DEFAULTS, readSlots } from '../../partitions/config-record.js';

const { dir, cleanup } = await scratch('bankforge-host-');
const host = new HostProgram(await compileHost('system-host', [
  'test/c/system-host.c', 'kernel/sha512.c', 'kernel/crypt.c', 'kernel/ustar.c', 'kernel/ramfs.c', 'common/hostcfg.c', 'common/fmt.c', 'common/crc32.c',
]));

let seed = 0x2545f491;
const rnd = (n: number) => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed % n; };
const hex = (b: Buffer) => (b.length ? b.toString('hex') : '-');
const SALT_CHARS = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

test('SHA-512 agrees with node:crypto on the FIPS 180-4 examples and random lengths around the block size', async () => {
  assert.equal(await host.ask('sha512 616263'), { sha512: createHash('sha512').update('abc').digest('hex') });
  assert.is((await host.ask<{ sha512: string }>('sha512 -')).sha512, 'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e');
  for (let i = 0; i < 300; i++) {
    const data = randomBytes(i < 200 ? i + 50 : rnd(5000));
    const r = await host.ask<{ sha512: string }>(`sha512 ${hex(data)}`);
    assert.is(r.sha512, createHash('sha512').update(data).digest('hex'), `length ${data.length}`);
  }
});

test('SHA-512 crypt gives what openssl passwd -6 gives, for random passwords (up to 200 bytes) and salts', async () => {
  // Drepper's published vectors: the default rounds, and rounds= with a salt cut at 16.
  assert.is((await host.ask<{ hash: string }>(`crypt ${Buffer.from('Hello world!').toString('hex')} $6$saltstring`)).hash,
    '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1');
  assert.is((await host.ask<{ hash: string }>(`crypt ${Buffer.from('Hello world!').toString('hex')} $6$rounds=10000$saltstringsaltstring`)).hash,
    '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.');
  assert.equal(await host.ask(`crypt 61 $1$abc`), { error: 1 }, 'MD5 crypt is not ours');
  for (let i = 0; i < 40; i++) {
    const lengths = [1, 63, 64, 65, 127, 128, 200];
    const n = i < lengths.length ? lengths[i]! : 1 + rnd(90);
    const pw = Array.from({ length: n }, () => String.fromCharCode(33 + rnd(94))).join('');
    const salt = Array.from({ length: 1 + rnd(16) }, () => SALT_CHARS[rnd(64)]).join('');
    // On stdin: a password may start with '-'.
    const o = await tool('openssl', ['passwd', '-6', '-salt', salt, '-stdin'], `${pw}\n`);
    assert.is(o.exitCode, 0, o.all);
    const expect = o.stdout.trim();
    const got = await host.ask<{ hash: string }>(`crypt ${hex(Buffer.from(pw))} $6$${salt}`);
    assert.is(got.hash, expect, `password ${JSON.stringify(pw)} salt ${salt}`);
    // Checking a password is crypt(password, hash) === hash.
    assert.is((await host.ask<{ hash: string }>(`crypt ${hex(Buffer.from(pw))} ${expect}`)).hash, expect);
  }
});

test('the base archive is deterministic, GNU tar reads it, and the kernel loads every file of base/ from it', async () => {
  const entries = treeEntries(BASE_DIR);
  const a = ustar(entries, 946684800);
  assert.ok(a.equals(ustar([...entries].reverse(), 946684800)), 'entry order does not matter');
  assert.not.ok(a.equals(ustar(entries, 1700000000)), 'the epoch is the mtime');
  await writeFile(join(dir, 'base.tar'), a);
  const list = await mustRun('tar', ['--numeric-owner', '--full-time', '-tvf', join(dir, 'base.tar')]);
  assert.match(list, /^-rw-r--r-- 0\/0 +\d+ 2000-01-01 00:00:00 etc\/passwd$/m);
  assert.match(list, /^drwxr-xr-x 0\/0 +0 2000-01-01 00:00:00 var\/log\/vmware\/$/m);
  assert.not.match(list, /\.keep/);
  const r = await host.ask<{ ok: number; log: string }>(`load ${hex(a)}`);
  assert.is(r.ok, 1, r.log);
  for (const e of entries) {
    if (!e.data) { assert.is((await host.ask<{ dir: number }>(`stat /${e.path}`)).dir, 1, e.path); continue; }
    assert.is((await host.ask<{ data: string }>(`cat /${e.path}`)).data, e.data.toString('hex'), e.path);
  }
  const etc = await host.ask<{ entries: { name: string }[] }>('ls /etc');
  assert.equal(etc.entries.map((e) => e.name).sort(), ['group', 'motd', 'passwd', 'shadow', 'vmware']);
});

test('an archive from GNU tar (long names in the prefix field, symlinks) loads; links are skipped', async () => {
  const src = join(dir, 'gnu');
  const deep = `d/${'x'.repeat(55)}/${'y'.repeat(50)}`;   // 117 bytes with file.txt: ustar's prefix field
  await mkdir(join(src, deep), { recursive: true });
  await writeFile(join(src, deep, 'file.txt'), 'deep\n');
  await writeFile(join(src, 'top'), Buffer.alloc(1500, 7));
  await mustRun('ln', ['-s', 'top', join(src, 'link')]);
  await mustRun('tar', ['--format=ustar', '-C', src, '-cf', join(dir, 'gnu.tar'), '.']);
  const { readFile } = await import('node:fs/promises');
  const r = await host.ask<{ ok: number; log: string }>(`load ${hex(await readFile(join(dir, 'gnu.tar')))}`);
  assert.is(r.ok, 1, r.log);
  assert.match(r.log, /links and special files skipped/);
  assert.is((await host.ask<{ data: string }>(`cat /${deep}/file.txt`)).data, Buffer.from('deep\n').toString('hex'));
  assert.is((await host.ask<{ size: number }>('stat /top')).size, 1500);
  assert.equal(await host.ask('stat /link'), { error: 1 });
});

test('truncated archives, traversal paths and absurd sizes are refused whole, with a log line', async () => {
  const good = ustar([{ path: 'etc/a', data: Buffer.from('a') }, { path: 'etc/b', data: Buffer.alloc(3000, 1) }], 0);
  const cases: [string, Buffer, RegExp][] = [
    ['cut in the middle of a member', good.subarray(0, 2100), /truncated: member runs past the end/],
    ['no end-of-archive block', good.subarray(0, good.length - 1024), /truncated: no end-of-archive block/],
    ['bad checksum', Buffer.concat([Buffer.from([good[0]! ^ 1]), good.subarray(1)]), /bad header checksum/],
  ];
  const evil = (name: string, size: string) => {
    const h = ustar([{ path: 'x', data: Buffer.alloc(0) }], 0);
    h.fill(0, 0, 100).write(name, 0, 'latin1');
    h.write(size, 124, 'latin1');
    h.fill(' ', 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += h[i]!;
    h.write(`${sum.toString(8).padStart(6, '0')}\0`, 148, 'latin1');
    return h;
  };
  cases.push(['"../" path', evil('../etc/passwd', '00000000000'), /leaves the archive/]);
  cases.push(['"a/../../b" path', evil('a/../../b', '00000000000'), /leaves the archive/]);
  cases.push(['size 8 GiB', evil('big', '77777777777'), /larger than 16 MiB/]);
  cases.push(['size beyond the archive', evil('big', '00000100000'), /truncated: member runs past the end/]);
  for (const [what, buf, why] of cases) {
    const r = await host.ask<{ ok: number; log: string }>(`load ${hex(buf)}`);
    assert.is(r.ok, 0, what);
    assert.match(r.log, /^ramfs: module test\.tar refused: at byte \d+: /, what);
    assert.match(r.log, why, what);
    assert.equal(await host.ask('ls /'), { entries: [] }, `${what}: nothing was unpacked`);
  }
  // A leading "/" or "./" is a relative path once normalised.
  const abs = evil('/./etc//motd', '00000000000');
  assert.is((await host.ask<{ ok: number }>(`load ${hex(abs)}`)).ok, 1);
  assert.is((await host.ask<{ size: number }>('stat /etc/motd')).size, 0);
});

test('fuzz: 6000 damaged archives never crash the loader (ASan and UBSan watch every byte)', async () => {
  const base = ustar(treeEntries(BASE_DIR), 946684800);
  let refused = 0;
  for (let s = 1; s <= 6; s++) {
    const r = await host.ask<{ runs: number; refused: number }>(`fuzz ${s * 7919} 1000 ${hex(base)}`);
    assert.is(r.runs, 1000);
    refused += r.refused;
  }
  assert.ok(refused > 3000, `most mutations are refused (${refused})`);
});

test('the filesystem API: write, append, read back, mkdir, readdir, unlink; no unlink of open files', async () => {
  await host.ask(`load ${hex(ustar([{ path: 'tmp/.x', data: Buffer.alloc(0) }], 0))}`);
  assert.equal(await host.ask(`write /tmp/f ${hex(Buffer.from('hello '))}`), { r: 0 });
  assert.equal(await host.ask(`append /tmp/f ${hex(Buffer.from('world'))}`), { r: 0 });
  assert.equal(await host.ask('cat /tmp/f'), { data: Buffer.from('hello world').toString('hex') });
  const big = randomBytes(300_000);
  assert.equal(await host.ask(`write /tmp/big ${hex(big)}`), { r: 0 });
  assert.equal(await host.ask('cat /tmp/big'), { data: big.toString('hex') });
  assert.equal(await host.ask(`write /nodir/f 00`), { r: -1 }, 'no such directory');
  assert.equal(await host.ask('mkdir /tmp/d'), { r: 0 });
  assert.equal(await host.ask('mkdir /tmp/d'), { r: -1 }, 'exists');
  assert.equal(await host.ask(`write /tmp/d/g 01`), { r: 0 });
  assert.equal(await host.ask('rm /tmp/d'), { r: -1 }, 'not empty');
  assert.equal(await host.ask('openclose /tmp/f'), { fd: 0, rm_open: -1, close1: 0, close2: -1 });
  assert.equal(await host.ask('rm /tmp/d/g'), { r: 0 });
  assert.equal(await host.ask('rm /tmp/d'), { r: 0 });
  assert.equal(await host.ask('rm /tmp/f'), { r: 0 });
  assert.equal(await host.ask('cat /tmp/f'), { error: 1 });
  const ls = await host.ask<{ entries: { name: string; size: number }[] }>('ls /tmp');
  assert.equal(ls.entries.map((e) => e.name).sort(), ['.x', 'big']);
  assert.equal(await host.ask('stat /tmp/../etc'), { error: 1 }, 'no ".." in paths');
});

test('the configuration record: C and TypeScript encode the same bytes and refuse the same damage', async () => {
  const text = Object.entries({ ...DEFAULTS, hostname: 'esx01', 'net.mode': 'static' }).map(([k, v]) => `${k}=${v}\n`).join('');
  const ts = encodeRecord({ seq: 7, settings: { ...DEFAULTS, hostname: 'esx01', 'net.mode': 'static' } });
  const c = await host.ask<{ rec: string }>(`cfgenc 7 ${hex(Buffer.from(text))}`);
  assert.is(c.rec, ts.toString('hex'));
  assert.equal(decodeRecord(ts)?.settings.hostname, 'esx01');
  for (let i = 0; i < 200; i++) {
    const bad = Buffer.from(ts);
    bad[rnd(bad.length)] ^= 1 + rnd(255);
    const r = await host.ask<{ valid: number }>(`cfgdec ${hex(bad)}`);
    assert.is(r.valid, decodeRecord(bad) ? 1 : 0);
    assert.is(r.valid, 0, 'every single-byte change is caught');
  }
  assert.equal(await host.ask(`cfgdec ${hex(ts.subarray(0, ts.length - 1))}`), { valid: 0 }, 'cut short');
  // The newer copy wins, across the 32-bit wrap too.
  const at = (seq: number) => { const b = Buffer.alloc(4096); encodeRecord({ seq, settings: { ...DEFAULTS, hostname: `h${seq}` } }).copy(b); return b; };
  assert.is(readSlots(at(5), at(6)).current, 1);
  assert.is(readSlots(at(0xffffffff), at(0)).current, 1);
  assert.is(readSlots(at(9), Buffer.alloc(4096)).current, 0);
  // Unknown keys are skipped, known ones applied, the rest stays default.
  const p = await host.ask<{ applied: number; text: string }>(`cfgparse ${hex(Buffer.from('hostname=a\nfuture.key=1\nnet.dns=1.1.1.1\n'))}`);
  assert.is(p.applied, 2);
  assert.match(p.text, /^hostname=a\nnet\.mode=dhcp\n.*net\.dns=1\.1\.1\.1\n/s);
  assert.is((await host.ask<{ applied: number }>(`cfgparse ${hex(Buffer.from('no equals sign\n'))}`)).applied, -1);
});

test.after(async () => {
  const stderr = await host.close();
  assert.is(stderr, '', 'no sanitizer reports');
  await cleanup();
});
test.run();
