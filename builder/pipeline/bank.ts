// The "bank" artifact: what the pipeline puts in a boot bank: boot.cfg in ESXi's key=value form,
// the kernel, and SHA256SUMS, against which the loader checks every file it loads
// (docs/boot-protocol.md, "What a bank holds").

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FatTree } from '../../partitions/fat/index.js';

export const KERNEL_FILE = 'kernel.elf';

export interface BankInputs {
  /** The version being built: boot.cfg's build= and title, and the bank state's version. */
  version: string;
  /** ESXi's generation counter (informational here; the state record decides). */
  updated: number;
  /** Seconds the loader's menu waits; 0 = no menu. */
  timeout: number;
  /** The kernel command line. */
  kernelopt: string;
}

export function bootCfg(inputs: BankInputs): string {
  // A fixed key order keeps images reproducible; ESXi's loader ignores order and unknown keys.
  return [
    'bootstate=0',
    `title=bankforge ${inputs.version}`,
    `timeout=${inputs.timeout}`,
    `kernel=${KERNEL_FILE}`,
    `kernelopt=${inputs.kernelopt}`,
    'modules=',
    `build=${inputs.version}`,
    `updated=${inputs.updated}`,
    '',
  ].join('\n');
}

export async function bankArtifact(inputs: BankInputs, kernelPath: string): Promise<FatTree> {
  const kernel = await readFile(kernelPath);
  const cfg = Buffer.from(bootCfg(inputs), 'utf8');
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  // boot.cfg is listed too: it carries the kernel command line, which deserves the same check.
  const sums = Buffer.from(`${sha(cfg)}  boot.cfg\n${sha(kernel)}  ${KERNEL_FILE}\n`, 'utf8');
  return new Map([
    ['boot.cfg', { kind: 'file', size: cfg.length, source: { data: cfg } }],
    ['SHA256SUMS', { kind: 'file', size: sums.length, source: { data: sums } }],
    [KERNEL_FILE, { kind: 'file', size: kernel.length, source: { data: kernel } }],
  ]);
}
