// `bankforge flash IMAGE DEVICE`: argument handling, the confirmation question, Ctrl-C, and the
// message for each way it can end (disk/flash/errors.ts) around disk/flash/flash.ts.

import { createRequire } from 'node:module';
import type { DeviceInfo } from '../../disk/flash/devices.js';
import { FlashInterrupted, FlashRefusal } from '../../disk/flash/errors.js';
import { BankforgeError } from '../../support/errors.js';
import { flash } from '../../disk/flash/flash.js';
import type { ImageSource } from '../../disk/flash/image.js';
import { formatBytes, makeFlashProgress } from '../../disk/flash/progress.js';
import { terminalSafe } from '../../support/terminal-text.js';
import { printOut } from '../stdout.js';

interface Args { image: string; device: string; yes: boolean; verify: boolean; allowFixed: boolean; quiet: boolean; json: boolean }

export async function run(a: Args): Promise<void> {
  const progress = makeFlashProgress({ quiet: a.quiet });
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Printed once the handlers are gone: printOut waits for a full pipe without turning the event
  // loop, and a handler would hold Ctrl-C back until the reader reads.
  let json: string | undefined;
  try {
    const r = await flash({
      image: a.image,
      device: a.device,
      verify: a.verify,
      allowFixed: a.allowFixed,
      ...(a.yes ? {} : { confirm: (d: DeviceInfo, img: ImageSource) => confirm(d, img, abort.signal) }),
      progress,
      signal: abort.signal,
    });
    if (a.json) {
      const { dataBytes, staleRead, staleCleared, verifiedBytes, writeMs, verifyMs } = r;
      json = `${JSON.stringify({ image: a.image, device: r.device, verified: a.verify, dataBytes, staleRead, staleCleared, verifiedBytes, writeMs, verifyMs }, null, 2)}\n`;
    }
    const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    progress.note(`flashed ${a.image} to ${r.device.path}: ${formatBytes(r.dataBytes)} of data written, ${formatBytes(r.staleCleared)} of old data cleared, in ${secs(r.writeMs)}`
      + (a.verify ? `; verified ${formatBytes(r.verifiedBytes)} read back from the device in ${secs(r.verifyMs)}` : '; not verified (--no-verify)'));
  } catch (e) {
    // With --json the error is cli/main.ts' JSON document; the device's state is in its message.
    if (a.json && e instanceof BankforgeError) throw e instanceof FlashInterrupted ? new BankforgeError(interruptedText(e, a.device), e.exitCode) : e;
    process.exitCode = outcome(e, a.device);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (json !== undefined) printOut(json);
}

/** Flash errors print after a blank line (a progress line may be showing) and say what state the device is in. */
function outcome(e: unknown, device: string): number {
  if (!(e instanceof BankforgeError)) throw e;
  const msg = e instanceof FlashInterrupted ? interruptedText(e, device) : e.message;
  process.stderr.write(`\nbankforge: ${terminalSafe(msg)}\n`);
  return e.exitCode;
}

function interruptedText(e: FlashInterrupted, device: string): string {
  if (e.message === 'checking') return `interrupted while checking the image: nothing was written to ${device}`;
  return e.message === 'verifying'
    ? `interrupted while verifying: ${device} was written completely but is not verified; run bankforge flash again to be sure`
    : `interrupted: ${device} is not bootable (its partition table is written last, and was not); run bankforge flash again`;
}

async function confirm(d: DeviceInfo, img: ImageSource, signal: AbortSignal): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new FlashRefusal(`refusing to write ${d.path} without confirmation: there is no terminal to ask on. Pass --yes to write it without asking. Nothing was written.`);
  }
  const what = [d.vendor, d.model].filter(Boolean).join(' ') || 'no model name';
  // Loaded here: with --yes (every script's flash) nothing asks.
  const { createInterface } = createRequire(import.meta.url)('node:readline/promises') as typeof import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`Write ${img.path} (${formatBytes(img.size)}) to ${d.path}: ${what}, ${d.transport}, ${formatBytes(d.size)}?\n`
      + `Everything on ${d.path} will be lost. Type "yes" to go on: `, { signal });
    return /^y(es)?$/i.test(answer.trim());
  } catch {
    return false;
  } finally {
    rl.close();
  }
}
