// Power-cut safety of `config set` (docs/host.md, "Configuration"): every sector write of three
// saves in a row (slot 0, slot 1, slot 0 again, through a recording BlockDevice) replayed prefix
// by prefix and torn; at every cut point the record read back is the previous save or the new
// one, never none and never a mix.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { openBlockDevice } from '../../disk/device.js';
import { readConfigArea, settingsOf, writeConfigTo } from '../../disk/config.js';
import { RecordingDevice } from '../../disk/recording.js';
import { CONFIG, readSlots } from '../../partitions/config-record.js';
import { readRange } from '../helpers/fat-sink.js';
import { buildQuiet } from '../helpers/images.js';
import { scratch } from '../helpers/tools.js';

const TORN_BYTES = 256;
const { dir, cleanup } = await scratch('bankforge-config-cut-');

test('every cut point of three saves leaves the previous or the new configuration', async () => {
  const img = join(dir, 'small.img');
  await buildQuiet({ layout: 'small', out: img, version: '1.0.0' });
  let points = 0;
  for (const hostname of ['esx-a', 'esx-b', 'esx-c']) {
    const area = await readConfigArea(img);
    const before = area.view.record;
    const slots = await Promise.all(area.slots.map((at) => readRange(img, at, CONFIG.slotSize)));
    const dev = new RecordingDevice(await openBlockDevice(img, area.sectorSize), area.sectorSize, 'config');
    const w = await writeConfigTo(dev, area, { ...settingsOf(area), hostname }).finally(() => dev.close());
    const writes = dev.log.flatMap((op) => (op.kind === 'write' ? [op] : []));
    assert.ok(writes.length >= 1 && dev.log.at(-1)!.kind === 'flush', 'a save ends with a flush');

    // Every prefix of the sector writes, and every write torn after TORN_BYTES.
    for (let k = 0; k <= writes.length; k++) {
      for (const torn of k < writes.length ? [false, true] : [false]) {
        const s = slots.map((b) => Buffer.from(b));
        const apply = (data: Buffer, offset: number): void => {
          const i = area.slots.findIndex((at) => offset >= at && offset < at + CONFIG.slotSize);
          assert.ok(i >= 0, `write at byte ${offset} is outside both slots`);
          data.copy(s[i]!, offset - area.slots[i]!);
        };
        for (const op of writes.slice(0, k)) apply(op.data, op.offset);
        if (torn) apply(writes[k]!.data.subarray(0, TORN_BYTES), writes[k]!.offset);
        const seen = readSlots(s[0]!, s[1]!).record;
        const where = `save ${hostname}, ${k} of ${writes.length} sectors${torn ? ' + a torn one' : ''}`;
        points++;
        if (k === writes.length) {
          assert.is(seen?.seq, w.seq, where);
          assert.is(seen?.settings.hostname, hostname, where);
        } else if (before) {
          // Until the last sector lands, the previous save must stand (its CRC keeps a half record out).
          assert.ok(seen?.seq === before.seq || seen?.seq === w.seq, `${where}: seq ${seen?.seq}`);
          assert.is(seen.settings.hostname, seen.seq === w.seq ? hostname : before.settings.hostname, where);
        }
      }
    }
  }
  assert.ok(points >= 3 * 3, `only ${points} cut points`);
});

test.after(cleanup);
test.run();
