// A bank's boot.cfg and SHA256SUMS (docs/boot-protocol.md), the TypeScript twin of
// common/bootcfg.c: the same rules, limits and messages, pinned to it by test/vectors/bootcfg.json
// and sha256sums.json. Both parse bytes, one byte a character (the strings returned are latin1),
// as the loader does; a field's length limit is in bytes. checkBankContent then asks what the loader asks of a bank
// before it boots it: every file it will load is listed with the right sha256. Used on a bundle
// before it is trusted, on a bank read back after an upgrade, and by the power-cut harness.

import { createHash } from 'node:crypto';
import { BankforgeError } from '../support/errors.js';

/** common/bootcfg.h and common/bootinfo.h: field sizes including the C string's NUL. */
export const BOOTCFG = {
  nameMax: 48,
  titleMax: 128,
  cmdlineMax: 1024,
  buildMax: 32,
  timeoutMax: 3600,
  watchdogMax: 600,
  maxModules: 16,
  sumsMax: 32,
  moduleSeparator: ' --- ',
} as const;

export interface BootCfg {
  title: string;
  build: string;
  kernel: string;
  kernelopt: string;
  /** A Linux kernel's initramfs (docs/boot-protocol.md, "Linux payloads"), or ''. */
  initrd: string;
  /** Menu seconds; 0 = no menu. */
  timeout: number;
  /** Seconds a trial may run before it is marked good (docs/watchdog.md); 0 = no watchdog. */
  watchdog: number;
  modules: string[];
}

export interface BankContent {
  /** boot.cfg build=: the version this bank holds. */
  version: string;
  kernel: string;
  /** The initramfs of a Linux payload, or ''. */
  initrd: string;
  modules: string[];
  /** Files listed in SHA256SUMS with their hashes (lower-case hex). */
  sums: Map<string, string>;
}

export type ReadBankFile = (name: string) => Promise<Buffer | undefined>;

/** A boot.cfg or SHA256SUMS the loader would refuse; the message is the loader's. */
export class BankFileError extends BankforgeError {}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The lines of a file as the loader splits them: at '\n', one '\r' before it dropped, no line after a final '\n'. */
function lines(bytes: Uint8Array): string[] {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const out = text.split('\n');
  if (out.at(-1) === '') out.pop();
  return out.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

const trim = (s: string): string => s.replace(/^[ \t]+|[ \t]+$/g, '');

/** A file name in the bank's root: 1 to 47 printable ASCII bytes, no '/' or '\'. */
function validName(s: string): boolean {
  return s.length > 0 && s.length < BOOTCFG.nameMax && /^[\x21-\x7e]+$/.test(s) && !/[/\\]/.test(s);
}

export function parseBootCfg(bytes: Uint8Array): BootCfg {
  const cfg: BootCfg = { title: '', build: '', kernel: '', kernelopt: '', initrd: '', timeout: 0, watchdog: 0, modules: [] };
  lines(bytes).forEach((raw, i) => {
    const ln = i + 1;
    const fail = (why: string): never => { throw new BankFileError(`boot.cfg line ${ln}: ${why}`); };
    if (raw.includes('\0')) fail('NUL byte');
    const line = trim(raw);
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq < 0) fail("no '='");
    const key = trim(line.slice(0, eq));
    const v = trim(line.slice(eq + 1));
    const bad = (): never => fail(`bad value for ${key}`);
    switch (key) {
      case 'title': if (v.length >= BOOTCFG.titleMax) bad(); cfg.title = v; break;
      case 'build': if (v.length >= BOOTCFG.buildMax) bad(); cfg.build = v; break;
      case 'kernelopt': if (v.length >= BOOTCFG.cmdlineMax) bad(); cfg.kernelopt = v; break;
      case 'kernel': if (!validName(v)) bad(); cfg.kernel = v; break;
      case 'initrd': if (v !== '' && !validName(v)) bad(); cfg.initrd = v; break;
      case 'modules': cfg.modules = parseModules(v, fail); break;
      case 'timeout': cfg.timeout = seconds(v, BOOTCFG.timeoutMax, bad); break;
      case 'watchdog': cfg.watchdog = seconds(v, BOOTCFG.watchdogMax, bad); break;
      default: // bootstate, updated (the state record decides) and unknown keys are ignored
    }
  });
  if (!cfg.kernel) throw new BankFileError('boot.cfg: no kernel=');
  return cfg;
}

/** A decimal number of seconds, 0..max (the C side stops at the first digit past max: same answer). */
function seconds(v: string, max: number, bad: () => never): number {
  if (!/^[0-9]+$/.test(v) || Number(v) > max) bad();
  return Number(v);
}

function parseModules(v: string, fail: (why: string) => never): string[] {
  if (v === '') return [];
  const modules: string[] = [];
  for (const part of v.split(BOOTCFG.moduleSeparator)) {
    const name = trim(part);
    if (!validName(name)) fail('bad module name');
    if (modules.length === BOOTCFG.maxModules) fail(`more than ${BOOTCFG.maxModules} modules`);
    modules.push(name);
  }
  return modules;
}

/** SHA256SUMS as `sha256sum` writes it: `<64 hex>  <name>` or `<64 hex> *<name>`. The last line for a name wins. */
export function parseSums(bytes: Uint8Array): Map<string, string> {
  const sums = new Map<string, string>();
  let listed = 0; // lines, as the loader counts its table's entries: a name listed twice counts twice
  lines(bytes).forEach((line, i) => {
    const ln = i + 1;
    if (line === '') return;
    if (line.length < 67 || line[64] !== ' ' || (line[65] !== ' ' && line[65] !== '*')) throw new BankFileError(`SHA256SUMS line ${ln}: not '<sha256>  <name>'`);
    const name = line.slice(66);
    if (!validName(name)) throw new BankFileError(`SHA256SUMS line ${ln}: bad file name`);
    if (listed++ === BOOTCFG.sumsMax) throw new BankFileError(`SHA256SUMS: more than ${BOOTCFG.sumsMax} files`);
    const hex = line.slice(0, 64);
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new BankFileError(`SHA256SUMS line ${ln}: bad hex`);
    sums.set(name, hex.toLowerCase());
  });
  return sums;
}

/** boot.cfg as bankforge writes it: ESXi's keys, one fixed order (reproducible images). */
export interface BootCfgFile extends BootCfg {
  /** ESXi's bootstate (informational: our state record decides). */
  bootstate: number;
  /** ESXi's generation counter (informational likewise). */
  updated: number;
}

/**
 * The file's bytes (UTF-8). Refuses, naming the field, what the loader would refuse or read back
 * differently (a value too long, a line break in a value, a bad file name): the check is the
 * parser itself, run over what was written.
 */
export function writeBootCfg(c: BootCfgFile): Buffer {
  const fields: [string, string | number][] = [
    ['bootstate', c.bootstate], ['title', c.title], ['timeout', c.timeout], ['watchdog', c.watchdog], ['kernel', c.kernel],
    ['kernelopt', c.kernelopt], ...(c.initrd ? [['initrd', c.initrd] as [string, string]] : []),
    ['modules', c.modules.join(BOOTCFG.moduleSeparator)], ['build', c.build], ['updated', c.updated],
  ];
  for (const [k, v] of fields) if (/[\r\n]/.test(String(v))) throw new BankFileError(`boot.cfg ${k}: ${JSON.stringify(v)} has a line break`);
  const out = Buffer.from(fields.map(([k, v]) => `${k}=${v}\n`).join(''), 'utf8');
  let back: BootCfg;
  try {
    back = parseBootCfg(out);
  } catch (e) {
    const line = Number(/line (\d+)/.exec((e as Error).message)?.[1] ?? 0);
    throw new BankFileError(`boot.cfg ${fields[line - 1]?.[0] ?? 'kernel'}: the loader would refuse it (${(e as Error).message})`);
  }
  const bytes = (v: string): string => Buffer.from(v, 'utf8').toString('latin1');
  for (const k of ['title', 'build', 'kernel', 'kernelopt', 'initrd'] as const) {
    if (back[k] !== bytes(c[k])) throw new BankFileError(`boot.cfg ${k}: ${JSON.stringify(c[k])} would read back as ${JSON.stringify(back[k])} (no spaces or tabs at either end)`);
  }
  if (back.timeout !== c.timeout) throw new BankFileError(`boot.cfg timeout: ${c.timeout} would read back as ${back.timeout}`);
  if (back.watchdog !== c.watchdog) throw new BankFileError(`boot.cfg watchdog: ${c.watchdog} would read back as ${back.watchdog}`);
  if (back.modules.join('/') !== c.modules.join('/')) throw new BankFileError(`boot.cfg modules: ${JSON.stringify(c.modules)} would read back as ${JSON.stringify(back.modules)}`);
  return out;
}

/** SHA256SUMS for `files`, in the given order, as `sha256sum` writes it (text mode). */
export function writeSums(files: readonly (readonly [name: string, data: Uint8Array])[]): Buffer {
  for (const [name] of files) if (!validName(name)) throw new BankFileError(`SHA256SUMS: ${JSON.stringify(name)} is not a bank file name (1 to ${BOOTCFG.nameMax - 1} printable ASCII bytes, no '/' or '\\')`);
  if (files.length > BOOTCFG.sumsMax) throw new BankFileError(`SHA256SUMS: ${files.length} files, the loader takes at most ${BOOTCFG.sumsMax}`);
  return Buffer.from(files.map(([name, data]) => `${sha256(data)}  ${name}\n`).join(''), 'latin1');
}

/** Throws a BankforgeError naming `where`, the file and both hashes at the first problem. */
export async function checkBankContent(read: ReadBankFile, where: string): Promise<BankContent> {
  const inFile = <T>(parse: () => T): T => {
    try {
      return parse();
    } catch (e) {
      throw e instanceof BankFileError ? new BankFileError(`${where}: ${e.message}`) : e;
    }
  };
  const sumsFile = await read('SHA256SUMS');
  if (!sumsFile) throw new BankforgeError(`${where}: SHA256SUMS is missing`);
  const sums = inFile(() => parseSums(sumsFile));
  const cfgFile = await read('boot.cfg');
  if (!cfgFile) throw new BankforgeError(`${where}: boot.cfg is missing`);
  const cfg = inFile(() => parseBootCfg(cfgFile));
  for (const name of ['boot.cfg', cfg.kernel, ...(cfg.initrd ? [cfg.initrd] : []), ...cfg.modules]) {
    const want = sums.get(name);
    if (!want) throw new BankforgeError(`${where}: ${name} is not listed in SHA256SUMS`);
    const data = name === 'boot.cfg' ? cfgFile : await read(name);
    if (!data) throw new BankforgeError(`${where}: ${name} is missing`);
    const seen = sha256(data);
    if (seen !== want) throw new BankforgeError(`${where}: ${name}: sha256 ${seen}, SHA256SUMS says ${want}`);
  }
  return { version: cfg.build, kernel: cfg.kernel, initrd: cfg.initrd, modules: cfg.modules, sums };
}
