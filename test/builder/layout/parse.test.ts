import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadLayout, LAYOUTS_DIR } from '../../../builder/layout/load.js';
import { placeLayout } from '../../../builder/layout/place.js';
import { parseLayout, LAYOUT_FIELDS, PARTITION_FIELDS, CONTENT_FIELDS } from '../../../builder/layout/parse.js';
import { parseSize } from '../../../builder/layout/size.js';
import { GPT_TYPE_ALIASES, GPT_ATTRIBUTE_BITS } from '../../../partitions/gpt-types.js';
import { ARTIFACTS } from '../../../builder/layout/types.js';

const MiB = 1024 * 1024;

test('the default layout is the seed image: 4 + 48 + 48 + 540 + 110 MiB, 1 MiB aligned', async () => {
  const l = placeLayout(await loadLayout('esxi'));
  const rows = l.partitions.map((p) => [p.spec.name, p.spec.filesystem, p.offset / MiB, p.size / MiB]);
  assert.equal(rows, [
    ['bootloader', 'fat12', 1, 4],
    ['bootbank', 'fat16', 5, 48],
    ['altbootbank', 'fat16', 53, 48],
    ['store', 'fat32', 101, 540],
    ['coredump', 'raw', 641, 110],
  ]);
  assert.is(l.partitions[4]!.spec.typeGuid, '9D275380-40AD-11DB-BF97-000C2911D1B8');
  assert.is(l.partitions[0]!.spec.typeGuid, GPT_TYPE_ALIASES.esp);
  // 751 MiB of partitions, then the backup GPT, rounded up to the alignment.
  assert.is(l.diskSize, 752 * MiB);
});

test('every layout in layouts/ places at both sector sizes', async () => {
  for (const f of (await readdir(LAYOUTS_DIR)).filter((n) => n.endsWith('.json') && n !== 'schema.json')) {
    const spec = await loadLayout(join(LAYOUTS_DIR, f));
    for (const ss of [512, 4096] as const) {
      const l = placeLayout(spec, { sectorSize: ss });
      for (const p of l.partitions) assert.is(p.offset % spec.alignment, 0, `${f} ${p.spec.name}`);
      assert.is(l.diskSize % ss, 0);
    }
  }
});

test('GUIDs follow the seed: same seed same GUIDs, another seed other GUIDs', async () => {
  const spec = await loadLayout('small');
  const a = placeLayout(spec), b = placeLayout(spec), c = placeLayout(spec, { seed: 'other' });
  assert.is(a.diskGuid, b.diskGuid);
  assert.equal(a.partitions.map((p) => p.guid), b.partitions.map((p) => p.guid));
  assert.is.not(a.diskGuid, c.diskGuid);
  assert.is.not(a.partitions[0]!.guid, c.partitions[0]!.guid);
});

test('sizes: binary units and byte counts; decimal units refused', () => {
  assert.is(parseSize('48MiB'), 48 * MiB);
  assert.is(parseSize(' 4 KiB '), 4096);
  assert.is(parseSize(512), 512);
  assert.match(String(parseSize('48MB')), /unknown unit "MB"/);
  assert.match(String(parseSize(-1)), /positive/);
  assert.match(String(parseSize('lots')), /expected a size/);
});

test('layouts/schema.json describes exactly the fields the parser takes', async () => {
  const schema = JSON.parse(await readFile(join(LAYOUTS_DIR, 'schema.json'), 'utf8'));
  const part = schema.$defs.partition, content = schema.$defs.content;
  assert.equal(Object.keys(schema.properties).sort(), [...LAYOUT_FIELDS].sort());
  assert.equal(Object.keys(part.properties).sort(), [...PARTITION_FIELDS].sort());
  assert.equal(Object.keys(content.properties).sort(), [...CONTENT_FIELDS].sort());
  assert.equal([...part.properties.type.anyOf[0].enum].sort(), Object.keys(GPT_TYPE_ALIASES).sort());
  assert.equal([...part.properties.attributes.items.anyOf[0].enum].sort(), Object.keys(GPT_ATTRIBUTE_BITS).sort());
  assert.equal(content.properties.artifact.enum, [...ARTIFACTS]);
  assert.equal(schema.properties.sectorSize.enum, [512, 4096]);
  assert.equal(part.properties.filesystem.enum, ['fat12', 'fat16', 'fat32', 'raw']);
});

test('content paths are relative to the layout file', () => {
  const l = parseLayout({ partitions: [{ name: 'a', type: 'esp', filesystem: 'fat12', size: '4MiB', contents: [{ dir: 'files', to: 'EFI/' }] }] }, '/some/where/l.json', 'l');
  assert.equal(l.partitions[0]!.contents, [{ kind: 'dir', path: '/some/where/files', to: 'EFI', field: 'partitions[0].contents[0]' }]);
});

test.run();
