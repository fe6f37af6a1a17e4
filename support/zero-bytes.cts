// Telling zeros from data, for the main thread and for flash's worker thread (which loads no ES
// module: disk/flash/block-pass.cts says why this is CommonJS). Untouched memory costs a page
// fault per 4 KiB on first use on these machines, even for reading, so comparisons go against one
// shared 64 KiB of zeros rather than a fresh zeroed buffer each time.

const ZERO_BYTES = Buffer.alloc(64 * 1024);

/** Whether bytes `start` to `end` of `data` are all zeros, compared 64 KiB at a time. */
export function isZero(data: Uint8Array, start = 0, end = data.length): boolean {
  for (let at = start; at < end; at += ZERO_BYTES.length) {
    const to = Math.min(at + ZERO_BYTES.length, end);
    if (ZERO_BYTES.compare(data, at, to, 0, to - at) !== 0) return false;
  }
  return true;
}

/** The shared zeros, for feeding a hash (builder/image/blocks.ts' hashZeros): never written. */
export const zeroBytes = (length: number): Buffer => ZERO_BYTES.subarray(0, Math.min(length, ZERO_BYTES.length));
