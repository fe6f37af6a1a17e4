// Rewrites the README's generated sections from the code that owns them (run: npm run readme).
// Each section sits between <!-- generated:NAME --> and <!-- /generated:NAME -->;
// test/support/readme-sections.test.ts fails when the README's copy differs.
import { readFile, writeFile } from 'node:fs/promises';
import { README, readmeSections, replaceSection } from '../dist/support/readme-sections.js';

let text = await readFile(README, 'utf8');
for (const [name, body] of Object.entries(readmeSections())) text = replaceSection(text, name, body);
await writeFile(README, text);
