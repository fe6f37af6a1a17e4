// A BlockDevice wrapper that passes every write through and keeps a log of it, one entry per
// sector, with the flushes between them: the power-cut harness replays every prefix of this log
// (and a torn last sector) to prove that no cut point leaves an unbootable disk.

import type { Bytes } from '../partitions/units.js';
import type { BlockDevice } from './device.js';

/** One sector as it was written, or a flush (an ordering barrier on a real disk). */
export type RecordedOp = { kind: 'write'; offset: Bytes; data: Buffer; by: string } | { kind: 'flush'; by: string };

export class RecordingDevice implements BlockDevice {
  readonly log: RecordedOp[] = [];

  /** `by` labels the writer in the log ("upgrade", "loader", …) for the harness' report. */
  constructor(private readonly inner: BlockDevice, private readonly sectorSize: Bytes, private readonly by: string) {}

  get name(): string { return this.inner.name; }
  get size(): Bytes { return this.inner.size; }

  read(offset: Bytes, length: Bytes): Promise<Buffer> {
    return this.inner.read(offset, length);
  }

  async write(offset: Bytes, data: Uint8Array): Promise<void> {
    await this.inner.write(offset, data);
    for (let at = 0; at < data.length; at += this.sectorSize) {
      this.log.push({ kind: 'write', offset: offset + at, data: Buffer.from(data.subarray(at, at + this.sectorSize)), by: this.by });
    }
  }

  async flush(): Promise<void> {
    await this.inner.flush();
    this.log.push({ kind: 'flush', by: this.by });
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
