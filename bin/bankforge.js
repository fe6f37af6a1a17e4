#!/usr/bin/env node
// Thin launcher: the CLI ships as compiled JavaScript so start-up stays lean (no TS loader at run time).
import('../dist/cli/main.js').then((m) => m.main(process.argv.slice(2)));
