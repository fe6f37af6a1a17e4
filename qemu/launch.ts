// Starting QEMU so that it never outlives its owner. Each process is registered with the
// temporary directory that goes with it; when this process exits, or dies of SIGINT/SIGTERM
// that nobody else handles, every registered QEMU gets SIGKILL and every directory is removed,
// synchronously. Where util-linux's setpriv exists, QEMU also runs with a parent-death signal,
// which covers even a SIGKILLed owner (setpriv executes QEMU, so the pid is QEMU's).

import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { rmSync } from 'node:fs';
import { which } from './binary.js';

const live = new Map<ChildProcess, string>();
let hooked = false;

/** Spawns `qemu` with `args`; `tempDir` is removed when it is reaped. */
export function launch(qemu: string, args: readonly string[], stdio: StdioOptions, tempDir: string): ChildProcess {
  hook();
  const setpriv = which('setpriv');
  const child = setpriv
    ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', qemu, ...args], { stdio })
    : spawn(qemu, [...args], { stdio });
  live.set(child, tempDir);
  return child;
}

/** Forget a QEMU that has exited and whose directory the caller has removed. */
export function forget(child: ChildProcess): void {
  live.delete(child);
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function reapAll(): void {
  for (const [child, dir] of live) {
    if (isRunning(child)) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  // An application with its own handler (bankforge run stops QEMU cleanly on Ctrl-C) decides
  // what happens; the exit hook still covers whatever it leaves.
  if (process.listenerCount(signal) > 1) return;
  reapAll();
  process.removeListener(signal, onSignal);
  process.kill(process.pid, signal);
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', reapAll);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
