// How `bankforge flash` ends when it does not succeed, and the exit code for each. A refusal
// comes before the first byte is written; a failure or an interruption comes after, and says
// what state the device is in.

/** Exit codes of `flash` beyond the CLI's own (support/errors.ts: 2 usage, 3 bad input). */
export const FLASH_EXIT = {
  /** The target is not safe to write (system disk, mounted, fixed, too small, not confirmed). Nothing was written. */
  refused: 7,
  /** Writing or verifying failed, or the image did not match its .bmap or manifest. The device is not usable. */
  failed: 8,
  /** Ctrl-C, SIGINT or SIGTERM. */
  interrupted: 130,
} as const;

export class FlashRefusal extends Error {
  override name = 'FlashRefusal';
}

export class FlashFailure extends Error {
  override name = 'FlashFailure';
}

export class FlashInterrupted extends Error {
  override name = 'FlashInterrupted';
}
