#!/usr/bin/env node
// Thin launcher: the CLI ships as compiled JavaScript so start-up stays lean (no TS loader at run time).
// The process ends as soon as the command has: main() awaits all of a command's work, and a
// library's leftover timer (fatfs releases a closed file from a 500 ms setTimeout) must not keep
// every command that read a FAT file alive for another half second. Output to files, pipes and
// terminals is written synchronously on Linux, so exiting loses none of it.
import('../dist/cli/main.js').then((m) => m.main(process.argv.slice(2))).then(() => process.exit());
