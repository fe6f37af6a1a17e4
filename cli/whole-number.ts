// Whole-number options as typed: yargs' number type turns "" into 0 and "3x" into NaN, which
// hides what was given (`--boot-timeout ''` quietly built an image with no boot menu).

import { BankforgeError } from '../support/errors.js';

export function wholeNumber(option: string, given: unknown, min: number, max: number, unit = ''): number {
  const text = String(given);
  if (!/^[0-9]{1,10}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new BankforgeError(`${option}: expected ${unit ? `${unit} ` : ''}from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}
