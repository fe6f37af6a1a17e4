// Every way a layout can be wrong: the CLI must name the field, exit 3 and write nothing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdir, writeFile, mkdir, symlink, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { scratch } from '../../helpers/tools.js';
import { cli } from '../../helpers/cli.js';

const part = (over: Record<string, unknown> = {}) => ({ name: 'p', type: 'basic-data', filesystem: 'fat16', size: '16MiB', ...over });
const esp = { name: 'esp', type: 'esp', filesystem: 'fat12', label: 'ESP', size: '4MiB' };

const hostFile = (file: string, to: string) => ({ host: { files: [{ file, to }] }, partitions: [part()] });
const deepJson = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;

const cases: { what: string; layout: unknown; expect: RegExp; args?: string[]; raw?: string; env?: Record<string, string> }[] = [
  { what: 'overlapping partitions', layout: { partitions: [esp, part({ start: '2MiB' })] }, expect: /partitions\[1\]\.start: byte 2097152 overlaps partition "esp"/ },
  { what: 'a misaligned start', layout: { partitions: [esp, part({ start: '5632KiB' })] }, expect: /partitions\[1\]\.start: 5767168 is not aligned to 1 MiB/ },
  { what: 'a disk too small', layout: { diskSize: '16MiB', partitions: [esp, part()] }, expect: /diskSize: 16 MiB is too small: partition "p" ends at byte 22020096/ },
  { what: 'a partition too small for FAT32', layout: { partitions: [part({ filesystem: 'fat32', size: '8MiB' })] }, expect: /partitions\[0\]\.size: fat32 volume of 8388608 bytes/ },
  { what: 'a partition too big for FAT12', layout: { partitions: [part({ filesystem: 'fat12', size: '1GiB' })] }, expect: /partitions\[0\]\.size: fat12 volume of 1073741824 bytes/ },
  { what: 'a partition too small for FAT16 at 4K sectors', layout: { partitions: [part({ size: '8MiB' })] }, args: ['--sector-size', '4096'], expect: /partitions\[0\]\.size: fat16 volume of 8388608 bytes \(4096-byte sectors\)/ },
  { what: 'duplicate names', layout: { partitions: [part(), part({ label: 'X' })] }, expect: /partitions\[1\]\.name: "p" is also the name of partitions\[0\]/ },
  { what: 'duplicate labels', layout: { partitions: [part({ label: 'DATA' }), part({ name: 'q', label: 'DATA' })] }, expect: /partitions\[1\]\.label: "DATA" is also the label of partitions\[0\]/ },
  { what: 'duplicate GUIDs', layout: { partitions: [part({ guid: '11111111-2222-3333-4444-555555555555' }), part({ name: 'q', guid: '11111111-2222-3333-4444-555555555555' })] }, expect: /partitions\[1\]\.guid: 11111111-2222-3333-4444-555555555555 is also the GUID of partitions\[0\]/ },
  { what: 'an unknown type', layout: { partitions: [part({ type: 'ntfs' })] }, expect: /partitions\[0\]\.type: unknown type "ntfs"/ },
  { what: 'a label over 11 characters', layout: { partitions: [part({ label: 'BOOTBANK0001' })] }, expect: /partitions\[0\]\.label: "BOOTBANK0001" is 12 characters; a FAT label holds at most 11/ },
  { what: 'a label with a lower-case letter', layout: { partitions: [part({ label: 'Store' })] }, expect: /partitions\[0\]\.label: "Store" has the character "t"/ },
  { what: 'a label with an invalid character', layout: { partitions: [part({ label: 'A*B' })] }, expect: /partitions\[0\]\.label: "A\*B" has the character "\*"/ },
  { what: 'a label on a raw partition', layout: { partitions: [part({ filesystem: 'raw', label: 'X' })] }, expect: /partitions\[0\]\.label: a raw partition has no filesystem label/ },
  { what: 'an unknown field', layout: { partitions: [part({ sise: '1MiB' })] }, expect: /partitions\[0\]\.sise: unknown field/ },
  { what: 'a decimal unit', layout: { partitions: [part({ size: '48MB' })] }, expect: /partitions\[0\]\.size: unknown unit "MB"/ },
  { what: 'an unsupported sector size', layout: { sectorSize: 1024, partitions: [part()] }, expect: /sectorSize: expected 512 or 4096, got 1024/ },
  { what: 'an alignment that is not whole sectors', layout: { alignment: 1000, partitions: [part()] }, expect: /alignment: 1000 bytes is not a multiple of the 512-byte sector size/ },
  { what: 'a size that is not whole sectors', layout: { partitions: [part({ filesystem: 'raw', size: '1001KiB' })] }, args: ['--sector-size', '4096'], expect: /partitions\[0\]\.size: 1025024 bytes is not a whole number of 4096-byte sectors/ },
  { what: '"fill" before the last partition', layout: { diskSize: '64MiB', partitions: [part({ size: 'fill' }), part({ name: 'q' })] }, expect: /partitions\[0\]\.size: "fill" is allowed only for the last partition/ },
  { what: 'no partitions', layout: { partitions: [] }, expect: /partitions: expected a non-empty array/ },
  { what: 'a missing content directory', layout: { partitions: [part({ contents: [{ dir: 'nowhere' }] })] }, expect: /partitions\[0\]\.contents\[0\]\.dir: cannot read .*nowhere: ENOENT/ },
  { what: 'content that does not fit', layout: { partitions: [part({ filesystem: 'fat12', size: '1MiB', contents: [{ dir: 'big' }] })] }, expect: /partitions\[0\]\.size: fat12 volume of 1048576 bytes .*content does not fit/ },
  { what: 'a content item with two sources', layout: { partitions: [part({ contents: [{ dir: 'big', file: 'x' }] })] }, expect: /partitions\[0\]\.contents\[0\]: expected exactly one of "dir", "file" or "artifact", got dir and file/ },
  { what: 'an unknown artifact', layout: { partitions: [part({ contents: [{ artifact: 'kernel9' }] })] }, expect: /partitions\[0\]\.contents\[0\]\.artifact: unknown artifact "kernel9"/ },
  { what: 'a bank on a raw partition', layout: { partitions: [part({ filesystem: 'raw', bank: 'A' })] }, expect: /partitions\[0\]\.bank: a boot bank needs a FAT filesystem/ },
  { what: 'two banks A', layout: { partitions: [part({ bank: 'A' }), part({ name: 'q', bank: 'A' })] }, expect: /partitions\[1\]\.bank: bank A is also partitions\[0\]/ },
  { what: 'a bank letter other than A or B', layout: { partitions: [part({ bank: 'C' })] }, expect: /partitions\[0\]\.bank: expected "A" or "B", got "C"/ },
  { what: 'a version that does not fit the bank record', layout: { partitions: [part()] }, args: ['--version', 'a-version-string-that-is-far-too-long-for-32-bytes'], expect: /version "a-version-string-that-is-far-too-long-for-32-bytes": expected 1 to 31 characters/ },
  // issue 15 item 8: user keys never meet an object's prototype
  { what: 'the type "constructor"', layout: { partitions: [part({ type: 'constructor' })] }, expect: /partitions\[0\]\.type: unknown type "constructor"/ },
  { what: 'the type "__proto__"', layout: { partitions: [part({ type: '__proto__' })] }, expect: /partitions\[0\]\.type: unknown type "__proto__"/ },
  { what: 'the attribute "toString"', layout: { partitions: [part({ attributes: ['toString'] })] }, expect: /partitions\[0\]\.attributes\[0\]: expected a bit number 0-63 or one of .*got "toString"/ },
  { what: 'a "__proto__" host setting', layout: { host: { settings: JSON.parse('{"__proto__": "x"}') }, partitions: [part()] }, expect: /host\.settings\.__proto__: unknown setting __proto__/ },
  { what: 'a "constructor" host setting', layout: { host: { settings: { constructor: 'x' } }, partitions: [part()] }, expect: /host\.settings\.constructor: unknown setting constructor/ },
  // issue 15 item 7: JSON that would overflow the parser's stack
  { what: 'JSON nested 100,000 deep', layout: undefined, raw: deepJson, expect: /bad\.json: nested deeper than 32 levels at byte 32/ },
  // issue 15 item 9: accepted but wrong
  { what: 'the zero type GUID (the unused-entry marker)', layout: { partitions: [part({ type: '00000000-0000-0000-0000-000000000000' })] }, expect: /partitions\[0\]\.type: the all-zero GUID marks an unused GPT entry/ },
  { what: 'two partitions with the same GPT name', layout: { partitions: [part({ gptName: 'data' }), part({ name: 'q', gptName: 'data' })] }, expect: /partitions\[1\]\.gptName: "data" is also the GPT name of partitions\[0\]/ },
  { what: 'a vmkDiagnostic partition too small for one dump', layout: { partitions: [part({ type: 'vmkdiagnostic', filesystem: 'raw', size: '64KiB' })] }, expect: /partitions\[0\]\.size: 65536 bytes is too small for a vmkDiagnostic \(core-dump\) partition: at least 135168 bytes/ },
  { what: 'a netmask the DCUI refuses', layout: { host: { settings: { netmask: '255.0.255.0' } }, partitions: [part()] }, expect: /host\.settings\.netmask: / },
  { what: 'a hostname the DCUI refuses', layout: { host: { settings: { hostname: 'a..b' } }, partitions: [part()] }, expect: /host\.settings\.hostname: / },
  // issue 15 item 3: host content the kernel could not unpack at boot
  { what: 'a host file over the base directory etc', layout: hostFile('big/blob.bin', 'etc'), expect: /host\.files\[0\]: "etc" is a directory of the base system \(base\/\); a host file cannot replace it/ },
  { what: 'a host file under a base file', layout: hostFile('big/blob.bin', 'etc/passwd/x'), expect: /host\.files\[0\]: "etc\/passwd\/x" would go under "etc\/passwd", which is a file of the base system/ },
  { what: 'a host directory over a base file', layout: { host: { files: [{ dir: 'big', to: 'etc/motd' }] }, partitions: [part()] }, expect: /host\.files\[0\]: "etc\/motd" is a file of the base system \(base\/\); a host directory cannot replace it/ },
  { what: 'a host file name longer than the kernel takes', layout: hostFile('big/blob.bin', `etc/${'n'.repeat(60)}`), expect: /host\.files\[0\]: "n{60}" in "etc\/n{60}" is 60 bytes; the kernel's file names hold at most 59/ },
  { what: 'a host path too long for ustar (item 10)', layout: hostFile('big/blob.bin', `${'d'.repeat(50)}/${'d'.repeat(50)}/${'d'.repeat(50)}/${'d'.repeat(50)}/f`), expect: /host\.files\[0\]: path "d{50}\/.*\/f" is too long for a ustar archive/ },
  // issue 15 item 7: content the build used to fail on with an internal error
  { what: 'a host file over 2 GiB', layout: hostFile('huge.bin', 'etc/huge'), expect: /host\.files\[0\]: "etc\/huge" is 3221225472 bytes; the kernel unpacks files of at most 16777216 bytes/ },
  { what: 'a symbolic link loop in a content directory', layout: { partitions: [part({ contents: [{ dir: 'loop' }] })] }, expect: /partitions\[0\]\.contents\[0\]\.dir: .*loop\/self: a symbolic link loop/ },
  { what: 'a dangling link in a content directory', layout: { partitions: [part({ contents: [{ dir: 'dangling' }] })] }, expect: /partitions\[0\]\.contents\[0\]\.dir: .*dangling\/gone: a symbolic link to nothing/ },
  { what: 'a link back up in a content directory', layout: { partitions: [part({ contents: [{ dir: 'cycle' }] })] }, expect: /partitions\[0\]\.contents\[0\]\.dir: .*cycle\/up: a link back to a directory that contains it/ },
  { what: 'a bank holding only an arbitrary file (it would be marked valid)', layout: { partitions: [part({ bank: 'A', contents: [{ file: 'big/blob.bin' }] })] }, expect: /partitions\[0\]\.contents: bank A: SHA256SUMS is missing: the build would mark this bank valid, but the loader would not boot it/ },
  // issue 15 item 10: blamed on the right field
  { what: 'a FAT partition starting past 2 TiB (512-byte sectors)', layout: { diskSize: '3TiB', partitions: [esp, part({ start: '2200GiB' })] }, expect: /partitions\[1\]\.start: the fat16 volume would start at byte 2362232012800; a FAT boot sector records its start sector in 32 bits, so it must start below 2048 GiB/ },
  { what: 'a SOURCE_DATE_EPOCH past the last FAT date', layout: { partitions: [part()] }, env: { SOURCE_DATE_EPOCH: '99999999999' }, expect: /SOURCE_DATE_EPOCH="99999999999": expected whole seconds since 1970 from 315532800 .* to 4354819198 \(the last FAT date, 2107-12-31\)/ },
  { what: 'too many partitions', layout: { partitions: Array.from({ length: 129 }, (_, i) => part({ name: `p${i}` })) }, expect: /partitions: 129 partitions; a GPT holds at most 128/ },
];

for (const c of cases) {
  test(`rejects ${c.what}, naming the field, writing nothing`, async () => {
    const { dir, cleanup } = await scratch();
    try {
      await mkdir(join(dir, 'big'));
      await writeFile(join(dir, 'big', 'blob.bin'), Buffer.alloc(2 * 1024 * 1024, 1));
      await writeFile(join(dir, 'huge.bin'), '');
      await truncate(join(dir, 'huge.bin'), 3 * 1024 ** 3); // sparse: costs no disk
      for (const d of ['loop', 'dangling', 'cycle']) await mkdir(join(dir, d));
      await symlink('self', join(dir, 'loop', 'self'));
      await symlink('nowhere', join(dir, 'dangling', 'gone'));
      await symlink('.', join(dir, 'cycle', 'up'));
      const layout = join(dir, 'bad.json');
      await writeFile(layout, c.raw ?? JSON.stringify(c.layout));
      await mkdir(join(dir, 'out'));
      const r = await cli(['build', '--layout', layout, '--out', join(dir, 'out', 'x.img'), ...(c.args ?? [])], c.env ? { env: c.env } : {});
      assert.is(r.exitCode, 3, `exit code; stderr: ${r.stderr}`);
      assert.match(r.stderr, c.expect);
      if (!c.args?.includes('--version') && !c.env) assert.match(r.stderr, /bad\.json: /, 'the message names the file');
      assert.not.match(r.stderr, /\n\s+at /, 'no stack trace without --debug');
      assert.equal(await readdir(join(dir, 'out')), [], 'nothing written');
    } finally {
      await cleanup();
    }
  });
}

test('invalid JSON names the file and what the parser saw', async () => {
  const { dir, cleanup } = await scratch();
  try {
    await writeFile(join(dir, 'broken.json'), '{ "partitions": [ }');
    const r = await cli(['build', '--layout', join(dir, 'broken.json'), '--out', join(dir, 'x.img')]);
    assert.is(r.exitCode, 3);
    assert.match(r.stderr, /broken\.json: not valid JSON: Unexpected token/);
    assert.equal((await readdir(dir)).sort(), ['broken.json']);
  } finally {
    await cleanup();
  }
});

test('an unknown option is a usage error (exit 2)', async () => {
  const r = await cli(['build', '--colour']);
  assert.is(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, /Unknown argument: colour/);
});

test.run();
