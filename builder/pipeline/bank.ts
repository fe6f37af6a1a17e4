// The "bank" artifact: what the pipeline puts in a boot bank. For now that is boot.cfg in
// ESXi's key=value form; the boot chain adds the kernel and the module archives it names.

import type { FatTree } from '../../partitions/fat/index.js';

export interface BankInputs {
  /** The version being built; it becomes boot.cfg's build= and title. */
  version: string;
  /** ESXi's generation counter: the bank with the higher value wins among bootable banks. */
  updated: number;
}

export function bootCfg(inputs: BankInputs): string {
  // ESXi writes bootstate first; keys it does not know are ignored by its loader, so the order
  // is cosmetic, but a fixed order keeps images reproducible.
  return [
    'bootstate=0',
    `title=bankforge ${inputs.version}`,
    'timeout=5',
    `build=${inputs.version}`,
    `updated=${inputs.updated}`,
    '',
  ].join('\n');
}

export function bankArtifact(inputs: BankInputs): FatTree {
  const data = Buffer.from(bootCfg(inputs), 'utf8');
  return new Map([['boot.cfg', { kind: 'file', size: data.length, source: { data } }]]);
}
