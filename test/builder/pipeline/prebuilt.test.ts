// Matching the prebuilt programs of an installed package (builder/pipeline/prebuilt.ts): the
// sources' key is computed only where there is a prebuilt program to hold it against.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { prebuiltFor, PREBUILT_DIR } from '../../../builder/pipeline/prebuilt.js';
import { scratch } from '../../helpers/tools.js';

test('prebuiltFor: no prebuilt/ (a checkout) asks for no key; one made from other sources asks once and differs', async () => {
  const { dir, cleanup } = await scratch();
  try {
    let asked = 0;
    const key = (): string => { asked++; return 'the sources now'; };
    assert.equal(await prebuiltFor('kernel', key, dir), { differs: false });
    assert.is(asked, 0);
    await mkdir(join(dir, PREBUILT_DIR));
    const entry = (file: string) => ({ file, sourceKey: 'the sources then', sha256: '0'.repeat(64) });
    await writeFile(join(dir, PREBUILT_DIR, 'prebuilt.json'), JSON.stringify({ loader: entry('BOOTX64.EFI'), kernel: entry('kernel.elf') }));
    assert.equal(await prebuiltFor('kernel', key, dir), { differs: true });
    assert.is(asked, 1);
  } finally {
    await cleanup();
  }
});

test.run();
