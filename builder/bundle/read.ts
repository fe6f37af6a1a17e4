// Reading a bundle (docs/bundle.md, "Reading"): nothing in it is trusted until it has passed, in
// this order, the header and size checks (a truncated or padded file is refused before its
// manifest is parsed), the signature over header + manifest (a signed bundle needs a public key
// unless the caller explicitly accepts it unverified), the manifest's exact shape, the payload's
// and every file's sha256, and the bank-content check the loader would make (SHA256SUMS against
// boot.cfg and the kernel). Every size is checked against the file's real size and BUNDLE's
// limits before a byte is allocated for it.

import { closeSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { BankforgeError } from '../../support/errors.js';
import { parseUntrustedJson } from '../../support/untrusted-json.js';
import { checkBankContent, sha256 } from '../../partitions/bank-files.js';
import { BUNDLE, HDR, type BundleFile, type BundleFit, type BundleManifest } from './format.js';
import { verifyBytes } from './keys.js';

export interface Bundle {
  manifest: BundleManifest;
  files: Map<string, Buffer>;
  /**
   * "verified": signed, and the signature verified with the given key. "unchecked": it carries
   * 64 bytes in the signature field that nobody checked (they may be zeros); never call it signed.
   */
  signature: 'verified' | 'unchecked' | 'absent';
}

export interface ReadBundleOptions {
  /** Refuse the bundle unless it is signed by this key. */
  pubkey?: KeyObject;
  /** Accept a signed bundle without a key to check it (the hashes still catch corruption, not forgery). */
  allowUnverified?: boolean;
}

/** Bank files are plain names in the FAT root (docs/boot-protocol.md): at most 47 bytes. */
const FILE_NAME = /^[A-Za-z0-9._+~-]{1,47}$/;
const HEX64 = /^[0-9a-f]{64}$/;

export async function readBundle(path: string, opts: ReadBundleOptions = {}): Promise<Bundle> {
  // Synchronous calls: a bundle is read in a few reads, each waited for, and on these machines a
  // trip through libuv's thread pool costs 50-100 µs against 5-10 µs on this thread.
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new BankforgeError(`cannot read bundle ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  // Checked before opening: opening a FIFO would wait for a writer forever.
  if (!st.isFile()) throw new BankforgeError(`${path} is ${st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO (named pipe)' : 'not a regular file'}; a bundle is a file (bankforge bundle)`);
  const size = st.size;
  const fd = openSync(path, 'r');
  try {
    const at = (offset: number, length: number): Buffer => readExactly(fd, path, size, offset, length);
    if (size < BUNDLE.headerSize) throw new BankforgeError(`${path}: truncated: ${size} bytes, a bundle header alone is ${BUNDLE.headerSize}`);
    const header = at(0, BUNDLE.headerSize);
    const magic = header.toString('latin1', HDR.magic, HDR.magic + 8);
    if (magic !== BUNDLE.magic) throw new BankforgeError(`${path}: offset 0: expected magic ${BUNDLE.magic}, found ${JSON.stringify(magic)}: not a bankforge bundle`);
    const format = header.readUInt32LE(HDR.format);
    if (format !== BUNDLE.format) throw new BankforgeError(`${path}: offset ${HDR.format}: bundle format ${format}; this bankforge reads format ${BUNDLE.format}`);
    const mlen = header.readUInt32LE(HDR.manifestLength);
    if (mlen < 2 || mlen > BUNDLE.maxManifest) throw new BankforgeError(`${path}: offset ${HDR.manifestLength}: manifest length ${mlen}, expected 2..${BUNDLE.maxManifest}`);
    const slen = header.readUInt32LE(HDR.signatureLength);
    if (slen !== 0 && slen !== BUNDLE.signatureSize) throw new BankforgeError(`${path}: offset ${HDR.signatureLength}: signature length ${slen}, expected 0 or ${BUNDLE.signatureSize}`);
    if (header.readUInt32LE(HDR.reserved) !== 0) throw new BankforgeError(`${path}: offset ${HDR.reserved}: reserved field is not zero`);
    const payloadAt = BUNDLE.headerSize + mlen + slen;
    if (size < payloadAt) throw new BankforgeError(`${path}: truncated: header and manifest need ${payloadAt} bytes, the file has ${size}`);
    if (size - payloadAt > BUNDLE.maxPayload) throw new BankforgeError(`${path}: payload at offset ${payloadAt}: ${size - payloadAt} bytes; a bundle payload is at most ${BUNDLE.maxPayload} (a bank's files)`);
    const json = at(BUNDLE.headerSize, mlen);

    let signature: Bundle['signature'] = slen ? 'unchecked' : 'absent';
    const { pubkey } = opts;
    if (slen && !pubkey && !opts.allowUnverified) {
      throw new BankforgeError(`${path}: carries a signature, but no public key was given to check it: give --pubkey PEM, or --allow-unverified to install it unchecked`);
    }
    if (pubkey) {
      if (!slen) throw new BankforgeError(`${path}: not signed, but --pubkey was given: refusing an unsigned bundle`);
      if (!verifyBytes(pubkey, Buffer.concat([header, json]), at(BUNDLE.headerSize + mlen, slen))) {
        throw new BankforgeError(`${path}: signature at offset ${BUNDLE.headerSize + mlen} does not verify with the given public key (tampered, or signed with another key)`);
      }
      signature = 'verified';
    }

    const manifest = checkManifest(parseUntrustedJson(json, `${path}: manifest at offset ${BUNDLE.headerSize}`, { maxBytes: BUNDLE.maxManifest, maxDepth: 8, baseOffset: BUNDLE.headerSize }), path);
    const expected = payloadAt + manifest.payload.size;
    if (size !== expected) {
      throw new BankforgeError(`${path}: ${size < expected ? 'truncated' : 'trailing data'}: the manifest's files need a file of ${expected} bytes, this one has ${size}`);
    }
    const payload = at(payloadAt, manifest.payload.size);
    const payloadSha = sha256(payload);
    if (payloadSha !== manifest.payload.sha256) throw new BankforgeError(`${path}: payload at offset ${payloadAt}: sha256 ${payloadSha}, the manifest says ${manifest.payload.sha256}`);
    const files = new Map<string, Buffer>();
    let off = 0;
    for (const f of manifest.files) {
      const data = payload.subarray(off, off + f.size);
      const seen = sha256(data);
      if (seen !== f.sha256) throw new BankforgeError(`${path}: ${f.name} (offset ${payloadAt + off}): sha256 ${seen}, the manifest says ${f.sha256}`);
      files.set(f.name, data);
      off += f.size;
    }
    const content = await checkBankContent(async (name) => files.get(name), `${path}`);
    if (content.version !== manifest.version) throw new BankforgeError(`${path}: boot.cfg says build=${content.version}, the manifest says version ${manifest.version}`);
    return { manifest, files, signature };
  } finally {
    closeSync(fd);
  }
}

/** `length` bytes at `offset`, read in pieces (one read() call takes less than 2 GiB, and may return less). */
function readExactly(fd: number, path: string, size: number, offset: number, length: number): Buffer {
  if (offset + length > size) throw new BankforgeError(`${path}: truncated: ${length} bytes expected at offset ${offset}, the file has ${size} bytes`);
  const b = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const bytesRead = readSync(fd, b, done, Math.min(length - done, 1 << 26), offset + done);
    if (bytesRead === 0) throw new BankforgeError(`${path}: truncated: ${length} bytes expected at offset ${offset}, the file ended at ${offset + done} (did it change while being read?)`);
    done += bytesRead;
  }
  return b;
}

/** The manifest's shape, field by field; the first wrong field is named with what was expected. */
function checkManifest(m: unknown, path: string): BundleManifest {
  const bad = (field: string, want: string, seen: unknown): never => {
    throw new BankforgeError(`${path}: manifest field ${field}: expected ${want}, found ${JSON.stringify(seen)}`);
  };
  // "Exactly the shape" (docs/bundle.md): a field this reader does not know is refused, not ignored.
  const obj = (v: unknown, field: string, keys: readonly string[]): Record<string, unknown> => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return bad(field, 'an object', v);
    const extra = Object.keys(v).find((k) => !keys.includes(k));
    if (extra !== undefined) throw new BankforgeError(`${path}: manifest field ${field === '(root)' ? '' : `${field}.`}${extra}: unknown field; expected one of ${keys.join(', ')}`);
    return v as Record<string, unknown>;
  };
  const str = (v: unknown, field: string, re?: RegExp): string => (typeof v === 'string' && (!re || re.test(v)) ? v : bad(field, re ? `a string matching ${re}` : 'a string', v));
  const int = (v: unknown, field: string, min: number, max: number): number => (Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max ? v as number : bad(field, `an integer ${min}..${max}`, v));
  const arr = (v: unknown, field: string): unknown[] => (Array.isArray(v) && v.length > 0 ? v : bad(field, 'a non-empty array', v));

  const root = obj(m, '(root)', ['format', 'version', 'build', 'fits', 'files', 'payload']);
  if (root.format !== 1) bad('format', '1', root.format);
  const b = obj(root.build, 'build', ['tool', 'layout', 'layoutSha256', 'kernelopt', 'bootTimeout', 'sourceDateEpoch']);
  const build = {
    tool: str(b.tool, 'build.tool'), layout: str(b.layout, 'build.layout'), layoutSha256: str(b.layoutSha256, 'build.layoutSha256', HEX64),
    kernelopt: str(b.kernelopt, 'build.kernelopt'), bootTimeout: int(b.bootTimeout, 'build.bootTimeout', 0, 3600),
    sourceDateEpoch: int(b.sourceDateEpoch, 'build.sourceDateEpoch', 315532800, 4102444799),
  };
  const fits: BundleFit[] = arr(root.fits, 'fits').map((v, i) => {
    const f = obj(v, `fits[${i}]`, ['partitionSize', 'sectorSize', 'filesystem']);
    const sectorSize = int(f.sectorSize, `fits[${i}].sectorSize`, 512, 4096);
    if (sectorSize !== 512 && sectorSize !== 4096) bad(`fits[${i}].sectorSize`, '512 or 4096', sectorSize);
    const filesystem = str(f.filesystem, `fits[${i}].filesystem`, /^fat(12|16|32)$/) as BundleFit['filesystem'];
    return { partitionSize: int(f.partitionSize, `fits[${i}].partitionSize`, 1, Number.MAX_SAFE_INTEGER), sectorSize: sectorSize as 512 | 4096, filesystem };
  });
  const names = new Set<string>();
  const files: BundleFile[] = arr(root.files, 'files').map((v, i) => {
    const f = obj(v, `files[${i}]`, ['name', 'size', 'sha256']);
    const name = str(f.name, `files[${i}].name`, FILE_NAME);
    if (names.has(name.toUpperCase())) bad(`files[${i}].name`, 'a name not already listed (FAT names are case-insensitive)', name);
    names.add(name.toUpperCase());
    return { name, size: int(f.size, `files[${i}].size`, 0, BUNDLE.maxPayload), sha256: str(f.sha256, `files[${i}].sha256`, HEX64) };
  });
  const p = obj(root.payload, 'payload', ['size', 'sha256']);
  const payload = { size: int(p.size, 'payload.size', 0, BUNDLE.maxPayload), sha256: str(p.sha256, 'payload.sha256', HEX64) };
  const sum = files.reduce((n, f) => n + f.size, 0);
  if (sum !== payload.size) bad('payload.size', `the sum of the files' sizes (${sum})`, payload.size);
  return { format: 1, version: str(root.version, 'version', /^[A-Za-z0-9][A-Za-z0-9._+~-]{0,30}$/), build, fits, files, payload };
}
