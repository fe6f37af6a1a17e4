// A bank the build marks valid must be one the loader would boot: the same check the loader
// makes (partitions/bank-files.ts checkBankContent: SHA256SUMS well formed, boot.cfg, the kernel
// and every module listed with matching hashes), run on the files planned for the bank. Without
// it, a bank holding only an arbitrary file was marked valid and the loader, finding no boot.cfg,
// fell through to the other bank, or to nothing.

import { readFile } from 'node:fs/promises';
import { BankforgeError, LayoutError } from '../support/errors.js';
import { checkBankContent } from '../partitions/bank-files.js';
import type { FatTree } from '../partitions/fat/index.js';

/** Far above any kernel or module archive, and below what Node reads into one Buffer. */
const BANK_FILE_MAX = 1 << 30;

/** Refuses (naming `field`) a non-empty bank tree the loader would not boot. Only root files matter to the loader. */
export async function checkPlannedBank(tree: FatTree, file: string, field: string, bank: 'A' | 'B'): Promise<void> {
  const byName = new Map([...tree].filter(([path]) => !path.includes('/')).map(([path, e]) => [path.toUpperCase(), e] as const));
  try {
    await checkBankContent(async (name) => {
      const e = byName.get(name.toUpperCase());
      if (!e || e.kind !== 'file') return undefined;
      // The loader reads each file whole into memory; a file past any real kernel is refused before it is read.
      if (e.size > BANK_FILE_MAX) throw new BankforgeError(`${name} is ${e.size} bytes; the loader loads files of at most ${BANK_FILE_MAX}`);
      return 'data' in e.source ? Buffer.from(e.source.data) : readFile(e.source.path);
    }, `bank ${bank}`);
  } catch (e) {
    if (!(e instanceof BankforgeError)) throw e;
    throw new LayoutError(file, field, `${e.message}: the build would mark this bank valid, but the loader would not boot it; put {"artifact": "bank"} in it, or leave it empty (an empty bank is marked invalid)`);
  }
}
