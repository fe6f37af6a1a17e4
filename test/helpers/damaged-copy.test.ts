// The fuzz campaigns' damaged copies and their compare: a compare that always said "unchanged"
// would make their "a refusal writes nothing" checks unable to fail.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { changedSectors, sameAsDamaged, writeDamagedCopy } from './damaged-copy.js';
import { scratch } from './tools.js';

const { dir, cleanup } = await scratch('bankforge-damaged-copy-');
const MiB = 1024 * 1024;

test('a damaged copy holds the damage, also across a 1 MiB boundary, and compares equal to it', async () => {
  const base = Buffer.alloc(3 * MiB, 0x5a);
  const from = join(dir, 'base.img');
  await writeFile(from, base);
  const damage = [{ at: 700, bytes: Buffer.from('xy') }, { at: MiB - 3, bytes: Buffer.from('across') }];
  const copy = join(dir, 'copy.img');
  await writeDamagedCopy(from, copy, damage);
  const want = Buffer.from(base);
  want.write('xy', 700);
  want.write('across', MiB - 3);
  assert.ok((await readFile(copy)).equals(want));
  assert.equal(await changedSectors(copy, base, damage), []);
  assert.ok(await sameAsDamaged(copy, base, damage));
  // Against the undamaged base: the sectors the damage is in.
  assert.equal(await changedSectors(copy, base), [512, MiB - 512, MiB]);
  assert.not.ok(await sameAsDamaged(copy, base));
});

test('a changed byte anywhere, and a changed length, are seen', async () => {
  const base = Buffer.alloc(2 * MiB + 4096, 1);
  const from = join(dir, 'b.img'), f = join(dir, 'x.img');
  await writeFile(from, base);
  await writeDamagedCopy(from, f, [{ at: 2 * MiB + 4095, bytes: Buffer.of(2) }]);
  assert.equal(await changedSectors(f, base), [2 * MiB + 3584]);
  assert.ok(await sameAsDamaged(f, base, [{ at: 2 * MiB + 4095, bytes: Buffer.of(2) }]));
  await truncate(f, base.length - 512);
  assert.is(await changedSectors(f, base), 'size');
  assert.not.ok(await sameAsDamaged(f, base));
  await truncate(f, base.length + 1);
  assert.is(await changedSectors(f, base), 'size');
});

test.after(cleanup);
test.run();
