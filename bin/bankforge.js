#!/bin/sh
':' //; unset NODE_EXTRA_CA_CERTS; exec node "$0" "$@"
// Thin launcher: the CLI ships as compiled JavaScript so start-up stays lean (no TS loader at run time).
// It runs a bundle (dist/cli-bundle/, scripts/bundle-cli.mjs: one file, compiled from V8's code
// cache by load-bundle.js), unless tsc has compiled the sources since it was made (a developer's
// `npx tsc` without `npm run build`): a stale bundle would run yesterday's code. This file and the
// bundle are CommonJS (bin/package.json) because Node 20 sets up its ES module loader, and builds
// a module facade for every builtin imported, only for ES modules: milliseconds at every start.
// The process ends as soon as the command has and its output has left: main() awaits all of a
// command's work, and a library's leftover timer (fatfs releases a closed file from a 500 ms
// setTimeout) must not keep every command that read a FAT file alive for another half second.
// Output to files and terminals is written synchronously, but to a pipe only what the pipe takes
// at once (64 KiB): Node queues the rest, and exiting then would cut `inspect --json | jq` short
// with exit 0. So the exit waits for what the command wrote to stdout and stderr to be written.
// The first two lines are for sh and for Node both (for Node, a string and a comment): sh starts
// Node without NODE_EXTRA_CA_CERTS. Node 20 reads and parses the file it names at every start,
// before any JavaScript runs (40 ms of CPU on these machines, where it names Debian's 144 CA
// certificates: a quarter of `bankforge status`), and bankforge opens no TLS connection and starts
// no other Node. Through sh rather than `#!/usr/bin/env -S VAR= node`: BusyBox's env has no -S,
// and pnpm's bin wrappers take whatever follows `env -S` for the program to run.
'use strict';

const { statSync } = require('node:fs');
const { join } = require('node:path');

const at = (rel) => join(__dirname, rel);
const mtime = (rel) => statSync(at(rel), { throwIfNoEntry: false })?.mtimeMs ?? -1;
const args = process.argv.slice(2);

// Node makes process.stdout and process.stderr on first use (a stream each, milliseconds), so the
// exit waits only for those the command used; a command that never touched one does not make it.
const used = [];
for (const name of ['stdout', 'stderr']) {
  const own = Object.getOwnPropertyDescriptor(process, name);
  if (own?.get && own.configurable) {
    Object.defineProperty(process, name, { ...own, get() { if (!used.includes(name)) used.push(name); return own.get.call(this); } });
  }
}
/** Resolves when what was written to the streams in use has been written, or the stream has failed (EPIPE: the reader left). */
const drained = () => Promise.all(used.map((name) => new Promise((resolve) => {
  const stream = process[name];
  if (!stream.writableLength) { resolve(); return; }
  stream.once('error', resolve);
  stream.write('', resolve);
})));

const bundled = mtime('../dist/cli-bundle/main.cjs') >= mtime('../dist/cli/main.js');
// The top-level help is text made with the bundle (cli/static-help.ts), and `status TARGET` and
// the like have a bundle of their own without yargs (cli/direct-args.ts): cli/launch.ts says which.
const plan = bundled ? require('../dist/cli-bundle/launch.cjs').launch(args) : { bundle: undefined };
if (plan.help !== undefined) {
  process.stdout.write(plan.help);
} else {
  const cli = plan.bundle
    ? Promise.resolve(require('./load-bundle.js').loadBundle(at(`../dist/cli-bundle/${plan.bundle}.cjs`), at(`../dist/cli-bundle/${plan.bundle}.cache`)).exports)
    : import('../dist/cli/main.js');
  cli.then((m) => m.main(args)).then(drained).then(() => process.exit());
}
