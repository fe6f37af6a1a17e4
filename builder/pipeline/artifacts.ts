// The files the pipeline makes for layouts' {"artifact": NAME} contents, made only when a
// layout asks for them and at most once per build.

import { statSync } from 'node:fs';
import { compileKernel, compileLoader, type CompileProgress, type SourceReads } from './compile.js';
import { bankArtifact, linuxBankArtifact, type BankInputs } from './bank.js';
import type { FatTree } from '../../partitions/fat/index.js';
import type { ArtifactName } from '../layout/types.js';

export type Artifacts = (name: ArtifactName) => Promise<FatTree>;

export function pipelineArtifacts(bank: BankInputs, progress?: CompileProgress): Artifacts {
  const made = new Map<ArtifactName, Promise<FatTree>>();
  const reads: SourceReads = new Map();
  const make: Record<ArtifactName, () => Promise<FatTree>> = {
    bank: async () => (bank.linux ? linuxBankArtifact(bank, bank.linux) : bankArtifact(bank, (await compileKernel(progress, reads)).path)),
    loader: async () => {
      const efi = (await compileLoader(progress, reads)).path;
      const { size } = statSync(efi);
      return new Map([['BOOTX64.EFI', { kind: 'file', size, source: { path: efi } }]]);
    },
  };
  return (name) => {
    let p = made.get(name);
    if (!p) { p = make[name](); made.set(name, p); }
    return p;
  };
}
