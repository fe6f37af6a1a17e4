// What makes a bank's content bootable, checked the way the loader checks it
// (docs/boot-protocol.md): boot.cfg parses and names a kernel, SHA256SUMS is well formed, and
// every file the loader loads (boot.cfg, the kernel, the modules) is listed with the right sha256.
// Used on a bundle before it is trusted, on a bank read back after an upgrade, and by the
// power-cut harness on every cut point.

import { createHash } from 'node:crypto';
import { BankforgeError } from '../support/errors.js';

export interface BankContent {
  /** boot.cfg build=: the version this bank holds. */
  version: string;
  kernel: string;
  modules: string[];
  /** Files listed in SHA256SUMS with their hashes. */
  sums: Map<string, string>;
}

export type ReadBankFile = (name: string) => Promise<Buffer | undefined>;

const SUM_LINE = /^([0-9a-f]{64}) [ *](.+)$/;

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** boot.cfg as the loader reads it: key=value lines, `#` comments, the last of a repeated key wins. */
export function parseBootCfg(text: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq > 0) keys.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return keys;
}

export function parseSums(text: string, where: string): Map<string, string> {
  const sums = new Map<string, string>();
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    const m = SUM_LINE.exec(line);
    if (!m) throw new BankforgeError(`${where}: SHA256SUMS line ${i + 1}: expected "<64 hex>  <name>", got ${JSON.stringify(line.slice(0, 80))}`);
    sums.set(m[2]!, m[1]!);
  });
  return sums;
}

/** Throws a BankforgeError naming the file and both hashes at the first problem. */
export async function checkBankContent(read: ReadBankFile, where: string): Promise<BankContent> {
  const sumsFile = await read('SHA256SUMS');
  if (!sumsFile) throw new BankforgeError(`${where}: SHA256SUMS is missing`);
  const sums = parseSums(sumsFile.toString('utf8'), where);
  const cfgFile = await read('boot.cfg');
  if (!cfgFile) throw new BankforgeError(`${where}: boot.cfg is missing`);
  const cfg = parseBootCfg(cfgFile.toString('utf8'));
  const kernel = cfg.get('kernel') ?? '';
  if (!kernel) throw new BankforgeError(`${where}: boot.cfg names no kernel (kernel=)`);
  const modules = (cfg.get('modules') ?? '').split(' --- ').map((m) => m.trim()).filter((m) => m !== '');
  for (const name of ['boot.cfg', kernel, ...modules]) {
    const want = sums.get(name);
    if (!want) throw new BankforgeError(`${where}: ${name} is not listed in SHA256SUMS`);
    const data = name === 'boot.cfg' ? cfgFile : await read(name);
    if (!data) throw new BankforgeError(`${where}: ${name} is missing`);
    const seen = sha256(data);
    if (seen !== want) throw new BankforgeError(`${where}: ${name}: sha256 ${seen}, SHA256SUMS says ${want}`);
  }
  return { version: cfg.get('build') ?? '', kernel, modules, sums };
}
