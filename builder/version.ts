// The versions a build or a bundle may carry: they land in 32-byte NUL-padded fields (bank state
// record, boot info) and in boot.cfg lines, so they are short and plain.

import { BankforgeError } from '../support/errors.js';
import { STATE } from '../partitions/bankstate.js';

const VERSION_CHARS = /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/;

export function checkVersion(version: string): void {
  if (!VERSION_CHARS.test(version) || version.length >= STATE.versionLen) {
    throw new BankforgeError(`version ${JSON.stringify(version)}: expected 1 to ${STATE.versionLen - 1} characters of A-Z a-z 0-9 . _ + ~ - (starting with a letter or digit)`);
  }
}
