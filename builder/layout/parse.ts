// Checks a layout file's JSON field by field and turns it into a LayoutSpec. Each message names
// the file and the field (partitions[2].label) with the expected and the seen value. The JSON
// Schema in layouts/schema.json describes the same fields for editors; a test keeps them in step.

import { isAbsolute, resolve, dirname, posix } from 'node:path';
import { LayoutError } from '../../support/errors.js';
import { GPT_ATTRIBUTE_BITS, gptAttributeBit, resolveGptType, UNUSED_TYPE_GUID } from '../../partitions/gpt-types.js';
import { isGuid, normalizeGuid } from '../../partitions/guid.js';
import { GPT } from '../../partitions/gpt.js';
import { isSectorSize } from '../../partitions/units.js';
import { parseSize } from './size.js';
import { ARTIFACTS, type ArtifactName, type ContentSource, type Filesystem, type HostSpec, type LayoutSpec, type LinuxSpec, type PartitionSpec } from './types.js';

export const LAYOUT_FIELDS = ['$schema', 'description', 'sectorSize', 'alignment', 'diskSize', 'seed', 'diskGuid', 'host', 'linux', 'partitions'] as const;
export const HOST_FIELDS = ['settings', 'files'] as const;
export const LINUX_FIELDS = ['kernel', 'initrd', 'cmdline'] as const;
export const PARTITION_FIELDS = ['name', 'type', 'gptName', 'filesystem', 'label', 'size', 'start', 'guid', 'attributes', 'clusterSize', 'bank', 'contents'] as const;
export const CONTENT_FIELDS = ['dir', 'file', 'artifact', 'to'] as const;
const FILESYSTEMS: readonly Filesystem[] = ['fat12', 'fat16', 'fat32', 'raw'];

/** Characters a FAT volume label may hold (FAT short-name rules, upper case only). */
const LABEL_CHARS = /^[A-Z0-9 !#$%&'()\-@^_`{}~]*$/;
const NAME = /^[a-z0-9][a-z0-9_-]*$/;

type Obj = Record<string, unknown>;

class Checker {
  constructor(readonly file: string) {}
  fail(field: string, detail: string): never {
    throw new LayoutError(this.file, field, detail);
  }
  object(v: unknown, field: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, `expected an object, got ${show(v)}`);
    return v as Obj;
  }
  onlyKnown(o: Obj, known: readonly string[], field: string): void {
    for (const k of Object.keys(o)) {
      if (!known.includes(k)) this.fail(join(field, k), `unknown field; expected one of ${known.join(', ')}`);
    }
  }
  string(v: unknown, field: string): string {
    if (typeof v !== 'string') this.fail(field, `expected a string, got ${show(v)}`);
    return v;
  }
  size(v: unknown, field: string): number {
    const s = parseSize(v);
    if (typeof s === 'string') this.fail(field, s);
    return s;
  }
}

function show(v: unknown): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}
function join(field: string, key: string): string {
  return field ? `${field}.${key}` : key;
}

/** Parse `json` (already JSON.parse'd) read from `file`; relative content paths are relative to the file. */
export function parseLayout(json: unknown, file: string, name: string): LayoutSpec {
  const c: Checker = new Checker(file);
  const o = c.object(json, '');
  c.onlyKnown(o, LAYOUT_FIELDS, '');
  const base = dirname(resolve(file));

  const sectorSize = o.sectorSize ?? 512;
  if (typeof sectorSize !== 'number' || !isSectorSize(sectorSize)) c.fail('sectorSize', `expected 512 or 4096, got ${show(o.sectorSize)}`);
  const alignment = o.alignment === undefined ? 1024 * 1024 : c.size(o.alignment, 'alignment');
  if (alignment % sectorSize !== 0) c.fail('alignment', `${alignment} bytes is not a multiple of the ${sectorSize}-byte sector size`);
  const diskSize = o.diskSize === undefined || o.diskSize === 'fit' ? 'fit' : c.size(o.diskSize, 'diskSize');
  const seed = o.seed === undefined ? name : c.string(o.seed, 'seed');
  if (seed === '') c.fail('seed', 'must not be empty: GUIDs and serials derive from it');
  let diskGuid: string | undefined;
  if (o.diskGuid !== undefined) {
    const g = c.string(o.diskGuid, 'diskGuid');
    if (!isGuid(g)) c.fail('diskGuid', `expected a GUID such as 01234567-89AB-CDEF-0123-456789ABCDEF, got ${show(g)}`);
    diskGuid = normalizeGuid(g);
  }
  const description = o.description === undefined ? '' : c.string(o.description, 'description');

  const host = o.host === undefined ? undefined : parseHost(c, o.host, base);
  const linux = o.linux === undefined ? undefined : parseLinux(c, o.linux, base);
  const list = o.partitions;
  if (!Array.isArray(list) || list.length === 0) c.fail('partitions', `expected a non-empty array, got ${show(list)}`);
  if (list.length > GPT.entryCount) c.fail('partitions', `${list.length} partitions; a GPT holds at most ${GPT.entryCount}`);
  const partitions = list.map((p, i) => parsePartition(c, p, `partitions[${i}]`, base, i === list.length - 1));

  const seen = new Map<string, string>();
  for (const p of partitions) {
    const prev = seen.get(`name:${p.name}`);
    if (prev) c.fail(`${p.field}.name`, `"${p.name}" is also the name of ${prev}`);
    seen.set(`name:${p.name}`, p.field);
    // Tools find partitions by GPT name (by-partlabel links): two alike would hide one.
    const prevGptName = seen.get(`gptName:${p.gptName}`);
    if (prevGptName) c.fail(`${p.field}.gptName`, `"${p.gptName}" is also the GPT name of ${prevGptName}`);
    seen.set(`gptName:${p.gptName}`, p.field);
    if (p.label) {
      const prevLabel = seen.get(`label:${p.label}`);
      if (prevLabel) c.fail(`${p.field}.label`, `"${p.label}" is also the label of ${prevLabel}`);
      seen.set(`label:${p.label}`, p.field);
    }
    if (p.bank) {
      const prevBank = seen.get(`bank:${p.bank}`);
      if (prevBank) c.fail(`${p.field}.bank`, `bank ${p.bank} is also ${prevBank}; a layout has at most one bank A and one bank B`);
      seen.set(`bank:${p.bank}`, p.field);
    }
    if (p.guid) {
      const prevGuid = seen.get(`guid:${p.guid}`);
      if (prevGuid) c.fail(`${p.field}.guid`, `${p.guid} is also the GUID of ${prevGuid}`);
      seen.set(`guid:${p.guid}`, p.field);
    }
  }
  return { file, name, description, sectorSize, alignment, diskSize, seed, diskGuid, host, linux, partitions };
}

/** "linux": the banks' {"artifact": "bank"} holds this Linux payload instead of our kernel. */
function parseLinux(c: Checker, v: unknown, base: string): LinuxSpec {
  const o = c.object(v, 'linux');
  c.onlyKnown(o, LINUX_FIELDS, 'linux');
  const path = (x: unknown, field: string): string => {
    const p = c.string(x, field);
    if (p === '') c.fail(field, 'must not be empty');
    return isAbsolute(p) ? p : resolve(base, p);
  };
  if (o.kernel === undefined) c.fail('linux.kernel', 'required: the kernel image (bzImage with the EFI stub)');
  const cmdline = o.cmdline === undefined ? '' : c.string(o.cmdline, 'linux.cmdline');
  if (/[\r\n]/.test(cmdline)) c.fail('linux.cmdline', "must be one line (it becomes boot.cfg's kernelopt=)");
  return { kernel: path(o.kernel, 'linux.kernel'), ...(o.initrd !== undefined ? { initrd: path(o.initrd, 'linux.initrd') } : {}), cmdline };
}

function parseHost(c: Checker, v: unknown, base: string): HostSpec {
  const o = c.object(v, 'host');
  c.onlyKnown(o, HOST_FIELDS, 'host');
  // Null prototype: a key such as "__proto__" stays a key (checked, and refused, in host-files.ts).
  const settings = Object.create(null) as Record<string, string>;
  if (o.settings !== undefined) {
    const s = c.object(o.settings, 'host.settings');
    for (const [k, val] of Object.entries(s)) settings[k] = c.string(val, `host.settings.${k}`);
  }
  const files: ContentSource[] = [];
  if (o.files !== undefined) {
    if (!Array.isArray(o.files)) c.fail('host.files', `expected an array, got ${show(o.files)}`);
    o.files.forEach((item, i) => {
      const src = parseContent(c, item, `host.files[${i}]`, base);
      if (src.kind === 'artifact') c.fail(`host.files[${i}].artifact`, 'the base system takes host files and directories, not pipeline artifacts');
      files.push(src);
    });
  }
  return { settings, files };
}

function parsePartition(c: Checker, v: unknown, field: string, base: string, isLast: boolean): PartitionSpec {
  const o = c.object(v, field);
  c.onlyKnown(o, PARTITION_FIELDS, field);
  const name = c.string(o.name, `${field}.name`);
  if (!NAME.test(name)) c.fail(`${field}.name`, `expected lower-case letters, digits, "-" or "_" (starting with a letter or digit), got ${show(name)}`);

  const typeText = c.string(o.type, `${field}.type`);
  const typeGuid = resolveGptType(typeText);
  if (!typeGuid) c.fail(`${field}.type`, `unknown type ${show(typeText)}: expected a GUID or one of esp, basic-data, vmkdiagnostic, vmfs, vmware-reserved, linux-data, bios-boot`);
  if (typeGuid === UNUSED_TYPE_GUID) c.fail(`${field}.type`, 'the all-zero GUID marks an unused GPT entry; the partition would not exist');

  const gptName = o.gptName === undefined ? name : c.string(o.gptName, `${field}.gptName`);
  const units = Buffer.byteLength(gptName, 'utf16le') / 2;
  if (units > GPT.nameUnits) c.fail(`${field}.gptName`, `${units} UTF-16 units; a GPT name holds at most ${GPT.nameUnits}`);

  const fsText = c.string(o.filesystem, `${field}.filesystem`);
  if (!FILESYSTEMS.includes(fsText as Filesystem)) c.fail(`${field}.filesystem`, `expected one of ${FILESYSTEMS.join(', ')}, got ${show(fsText)}`);
  const filesystem = fsText as Filesystem;

  let label = '';
  if (o.label !== undefined) {
    if (filesystem === 'raw') c.fail(`${field}.label`, 'a raw partition has no filesystem label');
    label = c.string(o.label, `${field}.label`);
    if (label.length > 11) c.fail(`${field}.label`, `${show(label)} is ${label.length} characters; a FAT label holds at most 11`);
    if (!LABEL_CHARS.test(label)) {
      const bad = [...label].find((ch) => !LABEL_CHARS.test(ch));
      c.fail(`${field}.label`, `${show(label)} has the character ${show(bad)}; FAT labels take A-Z, 0-9, space and !#$%&'()-@^_\`{}~ (upper case only)`);
    }
    if (label.startsWith(' ')) c.fail(`${field}.label`, 'a FAT label must not start with a space');
  }

  let size: number | 'fill';
  if (o.size === 'fill') {
    if (!isLast) c.fail(`${field}.size`, '"fill" is allowed only for the last partition');
    size = 'fill';
  } else size = c.size(o.size, `${field}.size`);
  const start = o.start === undefined ? undefined : c.size(o.start, `${field}.start`);

  let guid: string | undefined;
  if (o.guid !== undefined) {
    const g = c.string(o.guid, `${field}.guid`);
    if (!isGuid(g)) c.fail(`${field}.guid`, `expected a GUID, got ${show(g)}`);
    guid = normalizeGuid(g);
  }

  let attributes = 0n;
  if (o.attributes !== undefined) {
    if (!Array.isArray(o.attributes)) c.fail(`${field}.attributes`, `expected an array, got ${show(o.attributes)}`);
    o.attributes.forEach((a, i) => {
      const f = `${field}.attributes[${i}]`;
      let bit: number | undefined;
      if (typeof a === 'string') bit = gptAttributeBit(a);
      else if (typeof a === 'number' && Number.isInteger(a) && a >= 0 && a <= 63) bit = a;
      if (bit === undefined) c.fail(f, `expected a bit number 0-63 or one of ${Object.keys(GPT_ATTRIBUTE_BITS).join(', ')}, got ${show(a)}`);
      attributes |= 1n << BigInt(bit);
    });
  }

  let clusterSize: number | undefined;
  if (o.clusterSize !== undefined) {
    if (filesystem === 'raw') c.fail(`${field}.clusterSize`, 'a raw partition has no clusters');
    clusterSize = c.size(o.clusterSize, `${field}.clusterSize`);
  }

  let bank: 'A' | 'B' | undefined;
  if (o.bank !== undefined) {
    if (o.bank !== 'A' && o.bank !== 'B') c.fail(`${field}.bank`, `expected "A" or "B", got ${show(o.bank)}`);
    if (filesystem === 'raw') c.fail(`${field}.bank`, 'a boot bank needs a FAT filesystem (the loader reads boot.cfg and the kernel from it)');
    bank = o.bank;
  }

  const contents: ContentSource[] = [];
  if (o.contents !== undefined) {
    if (!Array.isArray(o.contents)) c.fail(`${field}.contents`, `expected an array, got ${show(o.contents)}`);
    o.contents.forEach((item, i) => contents.push(parseContent(c, item, `${field}.contents[${i}]`, base)));
  }
  if (filesystem === 'raw') {
    if (contents.length > 1 || contents.some((s) => s.kind !== 'file' || s.to !== '')) {
      c.fail(`${field}.contents`, 'a raw partition takes at most one {"file": PATH}, written at its start');
    }
  }
  return { field, name, typeGuid, gptName, filesystem, label, size, start, guid, attributes, clusterSize, bank, contents };
}

function parseContent(c: Checker, v: unknown, field: string, base: string): ContentSource {
  const o = c.object(v, field);
  c.onlyKnown(o, CONTENT_FIELDS, field);
  const kinds = (['dir', 'file', 'artifact'] as const).filter((k) => o[k] !== undefined);
  if (kinds.length !== 1) c.fail(field, `expected exactly one of "dir", "file" or "artifact", got ${kinds.length ? kinds.join(' and ') : 'none'}`);
  const to = o.to === undefined ? '' : c.string(o.to, `${field}.to`);
  const normTo = posix.normalize(`/${to}`).slice(1).replace(/\/$/, '');
  if (to.split('/').includes('..')) c.fail(`${field}.to`, `${show(to)} climbs out of the partition with ".."`);
  const kind = kinds[0]!;
  if (kind === 'artifact') {
    const name = c.string(o.artifact, `${field}.artifact`);
    if (!(ARTIFACTS as readonly string[]).includes(name)) c.fail(`${field}.artifact`, `unknown artifact ${show(name)}; the pipeline makes ${ARTIFACTS.join(', ')}`);
    return { kind, name: name as ArtifactName, to: normTo, field };
  }
  const p = c.string(o[kind], `${field}.${kind}`);
  if (kind === 'file' && normTo === '' && o.to !== undefined) c.fail(`${field}.to`, 'expected a file path inside the partition');
  return { kind, path: isAbsolute(p) ? p : resolve(base, p), to: normTo, field };
}
