// `bankforge run` as a user runs it: exit codes for a match, a timeout, an interrupt and bad
// input, and no QEMU left behind afterwards. The boots run at once, each on its own image so
// each test can look for its own QEMU by image path.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, BIN, type CliResult } from '../helpers/cli.js';
import { HELLO, helloImage } from '../fixtures/efi-hello/image.js';
import { EXIT } from '../../support/exit-codes.js';

interface Run extends CliResult { image: string; seconds: number }

/** Pids of processes whose command line names `image`. */
async function processesFor(image: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').some((arg) => arg.includes(image))) pids.push(Number(entry));
  }
  return pids;
}

function runCli(key: string, args: string[]): Promise<Run> {
  const done = (async () => {
    const image = await helloImage(512, key);
    const t0 = Date.now();
    const r = await cli(['run', image, '--snapshot', ...args]);
    return { ...r, image, seconds: (Date.now() - t0) / 1000 };
  })();
  done.catch(() => undefined);
  return done;
}

/** Runs without a TTY until the prompt is on stdout, then sends SIGINT to bankforge alone. */
function interrupted(): Promise<Run> {
  const done = (async () => {
    const image = await helloImage(512, 'cli-sigint');
    const t0 = Date.now();
    const child = spawn(BIN, ['run', image, '--snapshot', '--timeout', '120'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (HELLO.prompt.test(stdout) && !child.killed) child.kill('SIGINT');
    });
    const exitCode = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    return { exitCode, stdout, stderr, image, seconds: (Date.now() - t0) / 1000 };
  })();
  done.catch(() => undefined);
  return done;
}

/** --expect with the console's stdout on /dev/full: the one output that goes through process.stdout (docs/cli.md, "Output"). */
function consoleLost(): Promise<Run> {
  const done = (async () => {
    const image = await helloImage(512, 'cli-full');
    const t0 = Date.now();
    const full = openSync('/dev/full', 'w');
    const child = spawn(BIN, ['run', image, '--snapshot', '--expect', 'hello from Con[O]ut', '--timeout', '180'], { stdio: ['ignore', full, 'pipe'] });
    closeSync(full);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exitCode = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    return { exitCode, stdout: '', stderr, image, seconds: (Date.now() - t0) / 1000 };
  })();
  done.catch(() => undefined);
  return done;
}

const RunCli = suite<{ match: Promise<Run>; timeout: Promise<Run>; plainTimeout: Promise<Run>; sigint: Promise<Run>; full: Promise<Run> }>('bankforge run', {} as never);

RunCli.before((ctx) => {
  // 180 s, the suite's ceiling for a boot: this file boots four machines at once beside the other lanes.
  ctx.match = runCli('cli-match', ['--expect', 'hello from Con[O]ut', '--timeout', '180']);
  ctx.timeout = runCli('cli-timeout', ['--expect', 'never printed', '--timeout', '8']);
  ctx.plainTimeout = runCli('cli-plain', ['--timeout', '8']);
  ctx.sigint = interrupted();
  ctx.full = consoleLost();
});

RunCli('--expect: exit 0 as soon as a line matches; the console was on stdout; QEMU is gone', async (ctx) => {
  const r = await ctx.match;
  assert.is(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /efi-hello: hello from COM1\r\nefi-hello: hello from ConOut/);
  assert.match(r.stderr, /^bankforge: booting .* \(tcg: .*\)\nbankforge: matched \/hello from Con\[O\]ut\/ after \d+\.\d s$/);
  assert.equal(await processesFor(r.image), []);
  console.log(`  bankforge run --expect: ${r.seconds.toFixed(1)} s`);
});

RunCli('--expect with the console on a full disk: the match still ends the run, exit 9 says the console was lost', async (ctx) => {
  const r = await ctx.full;
  assert.is(r.exitCode, EXIT.outputLost, r.stderr);
  assert.match(r.stderr, /bankforge: the output could not be written to stdout: ENOSPC/);
  assert.match(r.stderr, /bankforge: matched \/hello from Con\[O\]ut\//);
  assert.equal(await processesFor(r.image), []);
});

RunCli('--expect with --timeout passing first: exit 5, the last lines printed, QEMU is gone', async (ctx) => {
  const r = await ctx.timeout;
  assert.is(r.exitCode, 5, r.stderr);
  // The time waited is at least the 8 s asked for; on a loaded machine the timer can fire a
  // second or more late, so the message is not required to say 8.x.
  const waited = /bankforge: timed out after (\d+\.\d) s waiting for \/never printed\/ on the serial console of efi-hello-cli-timeout-512\.img(; last \d+ lines:\n|; nothing was printed)/.exec(r.stderr);
  assert.ok(waited, r.stderr);
  assert.ok(Number(waited[1]) >= 8, `waited ${waited[1]} s`);
  assert.equal(await processesFor(r.image), []);
});

RunCli('--timeout without --expect: QEMU is stopped when it passes, exit 5', async (ctx) => {
  const r = await ctx.plainTimeout;
  assert.is(r.exitCode, 5, r.stderr);
  assert.match(r.stderr, /bankforge: --timeout 8 s passed; last lines:\n/);
  assert.equal(await processesFor(r.image), []);
});

RunCli('SIGINT: QEMU stopped cleanly, exit 130', async (ctx) => {
  const r = await ctx.sigint;
  assert.is(r.exitCode, 130, r.stderr);
  assert.match(r.stderr, /bankforge: SIGINT: stopping QEMU\n?$/);
  assert.equal(await processesFor(r.image), []);
});

RunCli('bad input: missing image, bad regex, contradicting buses, 4Kn on AHCI, no QEMU on PATH, no OVMF', async () => {
  const image = await helloImage(512, 'cli-bad');
  const missing = await cli(['run', '/nonexistent/disk.img']);
  assert.is(missing.exitCode, 3, missing.stderr);
  assert.match(missing.stderr, /^bankforge: cannot open \/nonexistent\/disk\.img: no such file/);
  const regex = await cli(['run', image, '--expect', 'a(']);
  assert.is(regex.exitCode, 2, regex.stderr);
  assert.match(regex.stderr, /^bankforge: --expect a\(: not a valid regular expression/);
  const buses = await cli(['run', image, '--usb', '--bus', 'nvme']);
  assert.is(buses.exitCode, 2, buses.stderr);
  assert.match(buses.stderr, /^bankforge: --usb and --bus nvme contradict each other/);
  const ahci4k = await cli(['run', image, '--bus', 'ahci', '--sector-size', '4096', '--snapshot']);
  assert.is(ahci4k.exitCode, 2, ahci4k.stderr);
  assert.match(ahci4k.stderr, /ide-hd\) have 512-byte sectors only; a 4096-byte-sector image needs --bus virtio, nvme or usb/);
  // A PATH with Node on it (the command's #! line finds it there) and nothing else.
  const onlyNode = await mkdtemp(join(tmpdir(), 'bankforge-only-node-'));
  await symlink(process.execPath, join(onlyNode, 'node'));
  const noQemu = await cli(['run', image], { env: { PATH: onlyNode } }).finally(() => rm(onlyNode, { recursive: true, force: true }));
  assert.is(noQemu.exitCode, 3, noQemu.stderr);
  assert.match(noQemu.stderr, /qemu-system-x86_64 not found on PATH .*install the Debian package qemu-system-x86/);
  const noOvmf = await cli(['run', image], { env: { BANKFORGE_OVMF_DIR: '/nonexistent' } });
  assert.is(noOvmf.exitCode, 3, noOvmf.stderr);
  assert.match(noOvmf.stderr, /UEFI firmware \/nonexistent\/OVMF_CODE_4M\.fd not found; install the Debian package ovmf/);
  assert.equal(await processesFor(image), []);
});

RunCli.run();
