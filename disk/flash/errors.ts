// How `bankforge flash` ends when it does not succeed. A refusal comes before the first byte is
// written; a failure or an interruption comes after, and says what state the device is in.
// Exit codes: support/exit-codes.ts.

import { BankforgeError, EXIT } from '../../support/errors.js';

/** The target is not safe to write (system disk, mounted, fixed, too small, not confirmed). Nothing was written. */
export class FlashRefusal extends BankforgeError {
  constructor(message: string) { super(message, EXIT.refused); }
}

/** Writing or verifying failed, or the image did not match its .bmap or manifest. The device is not usable. */
export class FlashFailure extends BankforgeError {
  constructor(message: string) { super(message, EXIT.failed); }
}

/** Ctrl-C, SIGINT or SIGTERM; the message says which phase ('writing' or 'verifying'). */
export class FlashInterrupted extends BankforgeError {
  constructor(message: string) { super(message, EXIT.interrupted); }
}
