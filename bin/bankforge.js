#!/bin/sh
':' //; unset NODE_EXTRA_CA_CERTS; exec node "$0" "$@"
// Thin launcher: the CLI ships as compiled JavaScript so start-up stays lean (no TS loader at run time).
// It runs a bundle (dist/cli-bundle/, scripts/bundle-cli.mjs: one file each, compiled from V8's
// code cache by load-bundle.js), unless tsc has compiled the sources since it was made (a developer's
// `npx tsc` without `npm run build`): a stale bundle would run yesterday's code. This file and the
// bundle are CommonJS (bin/package.json) because Node 20 sets up its ES module loader, and builds
// a module facade for every builtin imported, only for ES modules: milliseconds at every start.
// The process ends as soon as the command has and its output has left: main() awaits all of a
// command's work, and a library's leftover timer (fatfs releases a closed file from a 500 ms
// setTimeout) must not keep every command that read a FAT file alive for another half second.
// Commands print their results through cli/stdout.ts, which writes everything before it returns;
// but what goes through process.stdout or process.stderr (run's serial console, progress and
// messages on stderr) reaches a pipe only as far as the pipe takes it at once (64 KiB), and Node
// queues the rest. So the exit waits for those streams to be written.
// The first two lines are for sh and for Node both (for Node, a string and a comment): sh starts
// Node without NODE_EXTRA_CA_CERTS. Node 20 reads and parses the file it names at every start,
// before any JavaScript runs (40 ms of CPU on these machines, where it names Debian's 144 CA
// certificates: a quarter of `bankforge status`), and bankforge opens no TLS connection and starts
// no other Node. Through sh rather than `#!/usr/bin/env -S VAR= node`: BusyBox's env has no -S,
// and pnpm's bin wrappers take whatever follows `env -S` for the program to run.
'use strict';

const { statSync, writeSync } = require('node:fs');
const { join } = require('node:path');

const at = (rel) => join(__dirname, rel);
const mtime = (rel) => statSync(at(rel), { throwIfNoEntry: false })?.mtimeMs ?? -1;
const args = process.argv.slice(2);

// Node makes process.stdout and process.stderr on first use (a stream each, milliseconds), so the
// exit waits only for those the command used; a command that never touched one does not make it.
// Commands, and yargs' help, print through cli/stdout.ts, not process.stdout; what still goes
// through it (run's serial console) follows the same rules (docs/cli.md, "Output"): a reader
// that has left (EPIPE, ECONNRESET) ends the output quietly; any other failure is said once on
// fd 2 and turns exit 0, or inspect's 4, into 9 (cli/stdout.ts, exitAfterLostOutput). A failure
// to write stderr leaves nowhere to say it.
const used = [];
for (const name of ['stdout', 'stderr']) {
  const own = Object.getOwnPropertyDescriptor(process, name);
  if (!own?.get || !own.configurable) continue;
  Object.defineProperty(process, name, { ...own, get() {
    const stream = own.get.call(this);
    if (!used.includes(stream)) {
      used.push(stream);
      let failed = false;
      stream.on('error', (e) => {
        if (failed || name === 'stderr') return;
        failed = true;
        if (e.code === 'EPIPE' || e.code === 'ECONNRESET') return;
        try { writeSync(2, `bankforge: the output could not be written to stdout: ${e.message}\n`); } catch { /* nor stderr */ }
        if (!process.exitCode || process.exitCode === 4) process.exitCode = 9;
      });
    }
    return stream;
  } });
}
/**
 * Resolves when what was written to the streams in use has been written, or has failed. A write
 * that failed at once (a file's) reports its error on the next tick, after the promise that ends
 * the command: one turn of the event loop lets the handler above hear it before the exit.
 */
const drained = () => used.length === 0 ? undefined : new Promise((resolve) => setImmediate(resolve))
  .then(() => Promise.all(used.map((stream) => new Promise((resolve) => {
    if (stream.writableLength) stream.write('', resolve);
    else resolve();
  }))));

// Every file of the bundle step, so that one cut short (or one of an older layout) is not used.
const bundled = Math.min(...['main.cjs', 'direct.cjs', 'launch.cjs'].map((f) => mtime(`../dist/cli-bundle/${f}`))) >= mtime('../dist/cli/main.js');
const bundle = (name, cache = name) => require('./load-bundle.js').loadBundle(at(`../dist/cli-bundle/${name}.cjs`), at(`../dist/cli-bundle/${cache}.cache`)).exports;
const run = (cli) => cli.then((m) => m.main(args)).then(drained).then(() => process.exit());
// `status TARGET` and the like have a bundle of their own without yargs (cli/direct-args.ts). A
// line that starts with one of their commands loads it at once, and the bundle says whether the
// line is one it runs, instead of launch.cjs being loaded first to ask (~1.5 ms of a ~10 ms
// `status` beyond Node's start). The names are cli/direct-args.ts' DIRECT_NAMES
// (test/cli/direct-args.test.ts holds the two lists equal); a line the bundle does not run
// (`status -q IMAGE`) goes the way every other line does.
const DIRECT_NAMES = ['status', 'rollback', 'mark-good'];
const direct = bundled && DIRECT_NAMES.includes(args[0]) ? bundle('direct') : undefined;
// A bundle made before runs() existed (a checkout pulled and not yet built) is asked the old way.
if (typeof direct?.runs === 'function' && direct.runs(args)) {
  run(Promise.resolve(direct));
} else {
  // The top-level help is text made with the bundle (cli/static-help.ts); cli/launch.ts says which
  // of the two bundles any other line needs, and which code cache (a build has its own).
  const launcher = bundled ? require('../dist/cli-bundle/launch.cjs') : undefined;
  const plan = launcher ? launcher.launch(args) : { bundle: undefined };
  if (plan.help !== undefined) {
    launcher.printOut(plan.help);
    launcher.settleOutput();
  } else {
    run(plan.bundle ? Promise.resolve(bundle(plan.bundle, plan.cache)) : import('../dist/cli/main.js'));
  }
}
