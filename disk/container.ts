// What a file that should be a raw disk image actually is, from its first bytes: one of the
// compressions flash decompresses on the fly, a VM disk or an archive to convert or unpack
// first, or (no match) presumably raw. Shared by flash (which takes compressed images) and by
// every command that reads an image in place (which takes raw images and block devices only).

/** Bytes to read from the start of a file to recognise every container below. */
export const CONTAINER_PROBE_BYTES = 0x48;

export type Compressed = 'gzip' | 'xz' | 'zstd';

const VM_DISK = (what: string) => `${what} (convert it: qemu-img convert -O raw IMAGE out.img)`;

/** `qemuBoots`: `bankforge run` boots it as it is (qemu/disk.ts). */
const MAGIC: { bytes: Buffer; at: number; compression?: Compressed; qemuBoots?: true; what: string }[] = [
  { bytes: Buffer.from([0x1f, 0x8b]), at: 0, compression: 'gzip', what: 'gzip-compressed' },
  { bytes: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), at: 0, compression: 'xz', what: 'xz-compressed' },
  { bytes: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), at: 0, compression: 'zstd', what: 'zstd-compressed' },
  { bytes: Buffer.from('QFI\xfb', 'latin1'), at: 0, qemuBoots: true, what: VM_DISK('a qcow2 VM disk') },
  { bytes: Buffer.from('KDMV', 'latin1'), at: 0, qemuBoots: true, what: VM_DISK('a VMDK VM disk') },
  { bytes: Buffer.from('# Disk DescriptorFile', 'latin1'), at: 0, qemuBoots: true, what: VM_DISK('a VMDK descriptor') },
  { bytes: Buffer.from('vhdxfile', 'latin1'), at: 0, what: VM_DISK('a VHDX VM disk') },
  { bytes: Buffer.from('conectix', 'latin1'), at: 0, what: VM_DISK('a VHD VM disk') },
  { bytes: Buffer.from([0x7f, 0x10, 0xda, 0xbe]), at: 0x40, what: VM_DISK('a VirtualBox VDI disk') },
  { bytes: Buffer.from('BZh', 'latin1'), at: 0, what: 'bzip2-compressed (decompress it first, or recompress with xz or gzip)' },
  { bytes: Buffer.from('PK\x03\x04', 'latin1'), at: 0, what: 'a zip archive (unpack the image from it first)' },
  { bytes: Buffer.from([0x04, 0x22, 0x4d, 0x18]), at: 0, what: 'lz4-compressed (decompress it first)' },
];

/** The container `head` (the first CONTAINER_PROBE_BYTES of a file) starts; undefined: none we know. */
export function containerOf(head: Buffer): { compression?: Compressed; qemuBoots?: true; what: string } | undefined {
  return MAGIC.find((m) => head.subarray(m.at, m.at + m.bytes.length).equals(m.bytes));
}

/** What the file name says it is: flash picks its decompressor by content, but a name that disagrees is a mistake. */
export function compressionBySuffix(path: string): Compressed | undefined {
  const m = /\.(gz|xz|zst)$/i.exec(path);
  return m ? ({ gz: 'gzip', xz: 'xz', zst: 'zstd' } as const)[m[1]!.toLowerCase() as 'gz' | 'xz' | 'zst'] : undefined;
}

/** Bytes isTextFile looks at: a disk image's first sector is never all text (an MBR ends in 0x55 0xAA). */
export const TEXT_PROBE_BYTES = 512;

/**
 * Whether `head` (a file's first bytes) reads as text: printable ASCII, tabs, line ends and
 * well-formed UTF-8 only. A disk image fails at once (boot code, zeros, the MBR signature).
 */
export function isTextFile(head: Buffer): boolean {
  if (head.length === 0) return false;
  for (const b of head) if (b < 0x20 ? b !== 0x09 && b !== 0x0a && b !== 0x0d : b === 0x7f) return false;
  // A multi-byte sequence cut by the probe's end (at most 3 bytes of one) is still text; a whole
  // file (shorter than the probe) is not cut.
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  for (let cut = 0; cut <= (head.length < TEXT_PROBE_BYTES ? 0 : 3); cut++) {
    try { utf8.decode(head.subarray(0, head.length - cut)); return true; } catch { /* try without the last byte */ }
  }
  return false;
}
