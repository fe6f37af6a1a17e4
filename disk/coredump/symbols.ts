// Turning a dump's addresses into functions (and file:line): the kernel ELF's symbol table,
// read here, names functions and tells whether an ELF is the build that crashed; with debug
// info, llvm-symbolizer (or binutils' addr2line) adds file:line and inlined frames.

import { PACKAGE_ROOT } from '../../support/package-info.js';
import { BankforgeError } from '../../support/errors.js';

/** ELF64 little-endian offsets (System V gABI, "ELF Header", "Sections", "Symbol Table"). */
const EH = { class: 4, data: 5, shoff: 0x28, shentsize: 0x3a, shnum: 0x3c } as const;
const SH = { type: 4, offset: 24, size: 32, link: 40, entsize: 56 } as const;
const SYM = { name: 0, info: 4, value: 8, size: 16 } as const;
const SHT_SYMTAB = 2;
const STT_FUNC = 2;

export interface ElfSymbol { name: string; value: bigint; size: bigint; func: boolean }

export class ElfError extends BankforgeError {}

/** Every named symbol of `.symtab`. */
export function elfSymbols(elf: Buffer): ElfSymbol[] {
  if (elf.length < 64 || elf.toString('latin1', 0, 4) !== '\x7fELF') throw new ElfError('not an ELF file (no \\x7fELF magic)');
  if (elf[EH.class] !== 2 || elf[EH.data] !== 1) throw new ElfError(`expected a 64-bit little-endian ELF, got class ${elf[EH.class]} data ${elf[EH.data]}`);
  const shoff = Number(elf.readBigUInt64LE(EH.shoff));
  const shentsize = elf.readUInt16LE(EH.shentsize);
  const shnum = elf.readUInt16LE(EH.shnum);
  if (shoff + shentsize * shnum > elf.length) throw new ElfError(`section headers at ${shoff} (${shnum} of ${shentsize} bytes) run past the end of the file (${elf.length} bytes)`);
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return { type: elf.readUInt32LE(at + SH.type), offset: Number(elf.readBigUInt64LE(at + SH.offset)), size: Number(elf.readBigUInt64LE(at + SH.size)),
      link: elf.readUInt32LE(at + SH.link), entsize: Number(elf.readBigUInt64LE(at + SH.entsize)) };
  };
  const out: ElfSymbol[] = [];
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.type !== SHT_SYMTAB || s.entsize < 24) continue;
    const strtab = section(s.link);
    for (let at = s.offset; at + 24 <= s.offset + s.size; at += s.entsize) {
      const nameOff = strtab.offset + elf.readUInt32LE(at + SYM.name);
      const end = elf.indexOf(0, nameOff);
      const name = elf.toString('utf8', nameOff, end < 0 ? strtab.offset + strtab.size : end);
      if (!name) continue;
      out.push({ name, value: elf.readBigUInt64LE(at + SYM.value), size: elf.readBigUInt64LE(at + SYM.size), func: (elf[at + SYM.info]! & 0xf) === STT_FUNC });
    }
  }
  return out;
}

/** Is this ELF the kernel that wrote the dump? Its `__kernel_end` and `panic` must be where the dump says they were. */
export function matchesDump(symbols: ElfSymbol[], kernelEnd: bigint, panicAddr: bigint): { ok: boolean; why: string } {
  const end = symbols.find((s) => s.name === '__kernel_end')?.value;
  const panic = symbols.find((s) => s.name === 'panic' && s.func)?.value;
  if (end === undefined || panic === undefined) return { ok: false, why: 'it has no __kernel_end or panic symbol (not our kernel, or stripped)' };
  if (end !== kernelEnd || panic !== panicAddr) {
    return { ok: false, why: `it is another build: __kernel_end ${hex(end)} and panic ${hex(panic)}, the dump has ${hex(kernelEnd)} and ${hex(panicAddr)}` };
  }
  return { ok: true, why: '' };
}

export interface Frame { function: string; location?: string }

/** The function containing `addr` by the symbol table alone. */
function lookup(symbols: ElfSymbol[], addr: bigint): Frame[] {
  const f = symbols.find((s) => s.func && addr >= s.value && addr < s.value + (s.size || 1n));
  return f ? [{ function: `${f.name}+0x${(addr - f.value).toString(16)}` }] : [];
}

const hex = (n: bigint) => `0x${n.toString(16)}`;

/** Source paths as the repository names them: the kernel is compiled with its root mapped to ".". */
const shortPath = (p: string) => {
  const rel = p.startsWith(`${PACKAGE_ROOT}/`) ? p.slice(PACKAGE_ROOT.length + 1) : p;
  return rel.replace(/^(\.\/)+/, '');
};

/**
 * Frames (innermost inlined function first) for each address, and which tool gave them.
 * `lookups` are the addresses to look up: callers pass a return address minus one, so the
 * call instruction is found and not whatever follows it.
 */
export async function symbolize(elfPath: string, symbols: ElfSymbol[], lookups: bigint[]): Promise<{ tool: string; frames: Frame[][] }> {
  const input = lookups.map((a) => hex(a)).join('\n') + '\n';
  // Loaded here, not at the top: execa is some hundred modules, and `status` reaches this file
  // (for the core-dump count) without ever symbolizing.
  const { execa } = await import('execa');
  const llvm = await execa('llvm-symbolizer', ['--obj', elfPath, '--functions=linkage', '--inlining', '--output-style=LLVM'], { input, reject: false })
    .catch(() => undefined);
  if (llvm && llvm.exitCode === 0) {
    // One block per address, blocks separated by an empty line; a block is function/location line pairs.
    const blocks = llvm.stdout.trim().split(/\n\s*\n/);
    if (blocks.length === lookups.length) return { tool: 'llvm-symbolizer', frames: blocks.map((b, i) => frames(b.split('\n'), lookups[i]!)) };
  }
  const a2l = await execa('addr2line', ['-a', '-f', '-i', '-e', elfPath, ...lookups.map(hex)], { reject: false }).catch(() => undefined);
  if (a2l && a2l.exitCode === 0) {
    // "0x<addr>" starts each address's block, then function/location line pairs.
    const blocks = a2l.stdout.split(/^0x[0-9a-f]+\n/m).slice(1);
    if (blocks.length === lookups.length) return { tool: 'addr2line', frames: blocks.map((b, i) => frames(b.trimEnd().split('\n'), lookups[i]!)) };
  }
  return { tool: 'the ELF symbol table', frames: lookups.map((a) => lookup(symbols, a)) };

  function frames(lines: string[], addr: bigint): Frame[] {
    const out: Frame[] = [];
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const fn = lines[i]!.trim();
      // llvm-symbolizer: file:line:column; addr2line: file:line, maybe " (discriminator N)".
      const loc = lines[i + 1]!.trim().replace(/ \(discriminator \d+\)$/, '').replace(/:(\d+):\d+$/, ':$1');
      if (fn === '??') continue;
      out.push({ function: fn, ...(loc.startsWith('??') || loc.endsWith(':0') ? {} : { location: shortPath(loc) }) });
    }
    // No debug info for this address: the symbol table still names the function.
    return out.length ? out : lookup(symbols, addr);
  }
}
