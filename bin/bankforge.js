#!/usr/bin/env node
// Thin launcher: the CLI ships as compiled JavaScript so start-up stays lean (no TS loader at run time).
// It runs the bundle (dist/cli-bundle/, scripts/bundle-cli.mjs: a few files to read and compile
// instead of a hundred modules), unless tsc has compiled the sources since it was made (a
// developer's `npx tsc` without `npm run build`): a stale bundle would run yesterday's code.
// The process ends as soon as the command has: main() awaits all of a command's work, and a
// library's leftover timer (fatfs releases a closed file from a 500 ms setTimeout) must not keep
// every command that read a FAT file alive for another half second. Output to files, pipes and
// terminals is written synchronously on Linux, so exiting loses none of it.
import { statSync } from 'node:fs';

const mtime = (rel) => statSync(new URL(rel, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
const entry = mtime('../dist/cli-bundle/main.js') >= mtime('../dist/cli/main.js') ? '../dist/cli-bundle/main.js' : '../dist/cli/main.js';
import(entry).then((m) => m.main(process.argv.slice(2))).then(() => process.exit());
