// The README's sections that are generated from code, so that the prose cannot drift from what
// the code does: scripts/update-readme.mjs writes them, a test compares them.

import { join } from 'node:path';
import { exitCodesMarkdown } from './exit-codes.js';
import { PACKAGE_ROOT } from './package-info.js';

export const README = join(PACKAGE_ROOT, 'README.md');

export function readmeSections(): Record<string, string> {
  return { 'exit-codes': exitCodesMarkdown() };
}

const markers = (name: string): [string, string] => [`<!-- generated:${name} -->`, `<!-- /generated:${name} -->`];

/** The section's body as the README has it, or undefined when its markers are missing. */
export function sectionOf(text: string, name: string): string | undefined {
  const [open, close] = markers(name);
  const a = text.indexOf(open);
  const b = text.indexOf(close);
  return a < 0 || b < a ? undefined : text.slice(a + open.length, b).trim();
}

export function replaceSection(text: string, name: string, body: string): string {
  const [open, close] = markers(name);
  if (sectionOf(text, name) === undefined) throw new Error(`README.md has no ${open} ... ${close} section`);
  return `${text.slice(0, text.indexOf(open) + open.length)}\n${body}\n${text.slice(text.indexOf(close))}`;
}
