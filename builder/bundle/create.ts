// `bankforge bundle`: one bank's content for a version (the pipeline's bank artifact: boot.cfg,
// kernel.elf, SHA256SUMS), its manifest and an optional Ed25519 signature, in the container of
// docs/bundle.md. Written under a temporary name and renamed into place when complete.

import { writeFile } from 'node:fs/promises';
import { BankforgeError } from '../../support/errors.js';
import { loadLayout } from '../layout/load.js';
import { pipelineArtifacts } from '../pipeline/artifacts.js';
import { linuxInputs, type LinuxPayload } from '../pipeline/linux.js';
import { toolVersion } from '../../support/package-info.js';
import { checkVersion } from '../version.js';
import { hostArchiveEntries } from '../host-files.js';
import { sha256 } from '../../partitions/bank-files.js';
import { BUNDLE, encodeHeader, type BundleManifest } from './format.js';
import { bundleFits } from './fits.js';
import { signBytes, loadPrivateKey } from './keys.js';
import { checkOutputPath, writeOutput } from '../../support/output-file.js';

export interface BundleOptions {
  version: string;
  layout?: string;
  out: string;
  kernelopt: string;
  bootTimeout: number;
  /** boot.cfg watchdog (seconds; 0 = none); default DEFAULT_WATCHDOG. */
  watchdog?: number;
  epoch: number;
  /** A stock Linux payload instead of our kernel (default: the layout's "linux"). */
  linux?: LinuxPayload;
  /** PEM file of an Ed25519 private key. */
  signKey?: string;
  /** Told when the kernel has to be compiled (seconds to tens of seconds). */
  progress?: (message: string) => void;
}

export async function createBundle(opts: BundleOptions): Promise<BundleManifest> {
  checkVersion(opts.version);
  // Before the pipeline's work, so that `-o /dev/sdb` costs nothing (and is checked again at the end).
  checkOutputPath(opts.out);
  const key = opts.signKey ? await loadPrivateKey(opts.signKey) : undefined;
  const layout = await loadLayout(opts.layout);
  // boot.cfg's updated= is informational (the state record decides) and unknown until install.
  const hostFiles = await hostArchiveEntries(layout);
  const bankPayload = linuxInputs(layout, opts.linux, opts.kernelopt);
  const tree = await pipelineArtifacts({ version: opts.version, updated: 0, timeout: opts.bootTimeout, ...(opts.watchdog !== undefined ? { watchdog: opts.watchdog } : {}), epoch: opts.epoch, hostFiles, ...bankPayload }, opts.progress)('bank');
  const fits = bundleFits(layout, tree, opts.epoch);
  if (fits.length === 0) throw new BankforgeError(`${layout.file}: no bank partition (a partition with "bank": "A" or "B") can hold this bank's files`);

  const files = [...tree].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, e]) => {
    if (e.kind !== 'file' || !('data' in e.source)) throw new Error(`bank artifact entry ${name} is not an in-memory file`);
    return { name, data: Buffer.from(e.source.data) };
  });
  const payload = Buffer.concat(files.map((f) => f.data));
  const manifest: BundleManifest = {
    format: 1,
    version: opts.version,
    build: { tool: `bankforge ${toolVersion()}`, layout: layout.name, layoutSha256: layout.sha256, kernelopt: bankPayload.kernelopt, bootTimeout: opts.bootTimeout, sourceDateEpoch: opts.epoch },
    fits,
    files: files.map((f) => ({ name: f.name, size: f.data.length, sha256: sha256(f.data) })),
    payload: { size: payload.length, sha256: sha256(payload) },
  };
  const json = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
  const signed = Buffer.concat([encodeHeader(json.length, key ? BUNDLE.signatureSize : 0), json]);
  const signature = key ? signBytes(key, signed) : Buffer.alloc(0);

  await writeOutput(opts.out, (tmp) => writeFile(tmp, Buffer.concat([signed, signature, payload])));
  return manifest;
}
