// Puts a complete core dump into an image's core-dump partition, as the kernel would write it.

import { open } from 'node:fs/promises';
import { Cause, COREDUMP, defaultGeometry, encodeDump } from '../../partitions/coredump.js';
import type { Manifest } from '../../builder/manifest.js';

export async function writeDump(img: string, manifest: Manifest, d: { seq: number; bank: number; build: string; reason: string }): Promise<void> {
  const p = manifest.partitions.find((x) => x.type === 'vmkdiagnostic')!;
  const enc = encodeDump(defaultGeometry(p.size), {
    header: {
      seq: d.seq, rtcTime: 1_700_000_000, uptimeMs: 1000, tsc: 1n, tscHz: 1, bank: d.bank, bootstate: 0, build: d.build,
      kernelStart: 0x1000000n, kernelEnd: 0x1050000n, panicAddr: 0x1002000n, cause: Cause.Panic, vector: 0, errorCode: 0n, faultAddr: 0n,
      reason: d.reason, logWritten: 6,
    },
    regs: { rip: 0x1001234n }, allRegisters: false, backtrace: [], log: Buffer.from('hello\n'), bootInfo: Buffer.alloc(0),
  });
  const fh = await open(img, 'r+');
  try {
    await fh.write(enc.header, 0, enc.header.length, p.offset + enc.offset);
    await fh.write(enc.body, 0, enc.body.length, p.offset + enc.offset + COREDUMP.block);
  } finally {
    await fh.close();
  }
}
