// Choosing the accelerator: BANKFORGE_ACCEL overrides, and the probe runs real guest code under
// KVM rather than trusting /dev/kvm (on these machines KVM is missing or broken: TCG it is).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { chooseAccel, probeKvm } from '../../qemu/accel.js';
import { findQemu } from '../../qemu/binary.js';
import { findOvmf } from '../../qemu/ovmf.js';

async function withEnv<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.BANKFORGE_ACCEL;
  if (value === undefined) delete process.env.BANKFORGE_ACCEL;
  else process.env.BANKFORGE_ACCEL = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.BANKFORGE_ACCEL;
    else process.env.BANKFORGE_ACCEL = saved;
  }
}

test('BANKFORGE_ACCEL=tcg|kvm is taken as given; anything else is refused naming both', async () => {
  const qemu = findQemu();
  const ovmf = await findOvmf();
  assert.equal(await withEnv('tcg', () => chooseAccel(qemu, ovmf)), { accel: 'tcg', reason: 'BANKFORGE_ACCEL=tcg', source: 'env' });
  assert.equal(await withEnv('kvm', () => chooseAccel(qemu, ovmf)), { accel: 'kvm', reason: 'BANKFORGE_ACCEL=kvm', source: 'env' });
  await withEnv('hvf', () => chooseAccel(qemu, ovmf)).then(() => assert.unreachable(), (e: Error) => assert.is(e.message, 'BANKFORGE_ACCEL=hvf: expected kvm or tcg'));
});

test('the KVM probe boots OVMF under -accel kvm and agrees with the choice', async () => {
  const qemu = findQemu();
  const ovmf = await findOvmf();
  const probe = await probeKvm(qemu, ovmf);
  assert.ok(probe.reason.length > 0);
  assert.ok(probe.elapsedMs < 15_000 + 2_000, `probe took ${probe.elapsedMs} ms`);
  const choice = await withEnv(undefined, () => chooseAccel(qemu, ovmf));
  console.log(`  KVM probe: ${probe.works ? 'works' : 'fails'} in ${probe.elapsedMs} ms (${probe.reason}); chosen: ${choice.accel} (${choice.reason}, ${choice.source})`);
  if (!existsSync('/dev/kvm')) {
    assert.not.ok(probe.works, 'no /dev/kvm, yet the probe says KVM works');
    assert.equal(choice, { accel: 'tcg', reason: '/dev/kvm does not exist', source: 'probe' });
  } else {
    assert.is(choice.accel, probe.works ? 'kvm' : 'tcg', `probe: ${probe.reason}; choice: ${choice.reason}`);
  }
});

test.run();
