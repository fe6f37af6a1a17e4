// `bankforge bundle`: argument handling around builder/bundle/create.ts.

import { DEFAULT_EPOCH } from '../../builder/build.js';
import { createBundle } from '../../builder/bundle/create.js';
import { BankforgeError } from '../../support/errors.js';
import { makeProgress } from '../../support/progress.js';
import { sourceDateEpoch } from '../source-date-epoch.js';
import { wholeNumber } from '../whole-number.js';
import { BOOTCFG } from '../../partitions/bank-files.js';
import { printOut } from '../stdout.js';

interface Args { version: string; layout: string; sign?: string; out: string; kernelopt: string; bootTimeout: string; watchdog?: string; json: boolean; quiet: boolean; linuxKernel?: string; initrd?: string }

/** The latest date a bundle manifest's build.sourceDateEpoch takes (docs/bundle.md): 2099-12-31. */
const EPOCH_MAX_BUNDLE = 4102444799;

export async function run(a: Args): Promise<void> {
  if (/[\r\n]/.test(a.kernelopt)) throw new BankforgeError("--kernelopt: must be one line (it becomes boot.cfg's kernelopt=)");
  const bootTimeout = wholeNumber('--boot-timeout', a.bootTimeout, 0, 3600, 'whole seconds');
  const watchdog = a.watchdog === undefined ? undefined : wholeNumber('--watchdog', a.watchdog, 0, BOOTCFG.watchdogMax, 'whole seconds');
  const progress = makeProgress({ quiet: a.quiet || a.json });
  const manifest = await createBundle({
    progress: (m) => progress.step(m),
    version: a.version, layout: a.layout, out: a.out, kernelopt: a.kernelopt, bootTimeout, ...(watchdog !== undefined ? { watchdog } : {}),
    ...(a.linuxKernel ? { linux: { kernel: a.linuxKernel, ...(a.initrd ? { initrd: a.initrd } : {}) } } : {}),
    epoch: sourceDateEpoch(DEFAULT_EPOCH, EPOCH_MAX_BUNDLE, 'the latest a bundle manifest takes, 2099-12-31')!, ...(a.sign ? { signKey: a.sign } : {}),
  });
  if (a.json) printOut(`${JSON.stringify(manifest, null, 2)}\n`);
  else {
    const fits = manifest.fits.map((f) => `${f.filesystem} in ${f.partitionSize}-byte banks, ${f.sectorSize}-byte sectors`).join('; ');
    progress.done(`bundled ${manifest.version} into ${a.out} (${manifest.payload.size} bytes of files, ${a.sign ? 'signed' : 'unsigned'}); fits ${fits}`);
  }
}
