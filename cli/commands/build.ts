// `bankforge build`: argument handling around builder/build.ts.

import { build } from '../../builder/build.js';
import { writeManifest } from '../../builder/manifest.js';
import { debugKernelPath, keepDebugKernel } from '../../builder/pipeline/debug-kernel.js';
import { BankforgeError } from '../../support/errors.js';
import { makeProgress } from '../../support/progress.js';
import type { SectorSize } from '../../partitions/units.js';
import { outputPath, parseFormats } from '../../builder/outputs/formats.js';
import { EPOCH_MAX_FAT, sourceDateEpoch } from '../source-date-epoch.js';
import { wholeNumber } from '../whole-number.js';
import { BOOTCFG } from '../../partitions/bank-files.js';
import { printOut } from '../stdout.js';

interface Args { layout: string; out?: string; version: string; sectorSize?: number; seed?: string; kernelopt: string; bootTimeout: string; watchdog?: string; json: boolean; quiet: boolean; format: string[]; sha256: boolean; linuxKernel?: string; initrd?: string }

export async function run(a: Args): Promise<void> {
  const epoch = sourceDateEpoch(undefined, EPOCH_MAX_FAT, 'the last FAT date, 2107-12-31');
  if (/[\r\n]/.test(a.kernelopt)) throw new BankforgeError('--kernelopt: must be one line (it becomes boot.cfg\'s kernelopt=)');
  const bootTimeout = wholeNumber('--boot-timeout', a.bootTimeout, 0, 3600, 'whole seconds');
  const watchdog = a.watchdog === undefined ? undefined : wholeNumber('--watchdog', a.watchdog, 0, BOOTCFG.watchdogMax, 'whole seconds');
  // Checked before building, so a typo costs nothing.
  const formats = parseFormats(a.format);
  const name = a.layout.replace(/^.*[/\\]/, '').replace(/\.json$/, '');
  const progress = makeProgress({ quiet: a.quiet || a.json });
  const out = a.out ?? `${name}.img`;
  const result = await build({
    layout: a.layout,
    out,
    sideOutputs: [...formats.filter((f) => f !== 'raw').map((f) => outputPath(out, f)), debugKernelPath(out)],
    version: a.version,
    ...(a.sectorSize ? { sectorSize: a.sectorSize as SectorSize } : {}),
    ...(a.seed ? { seed: a.seed } : {}),
    ...(epoch !== undefined ? { epoch } : {}),
    kernelopt: a.kernelopt,
    ...(a.linuxKernel ? { linux: { kernel: a.linuxKernel, ...(a.initrd ? { initrd: a.initrd } : {}) } } : {}),
    bootTimeout,
    ...(watchdog !== undefined ? { watchdog } : {}),
    progress,
    sha256: a.sha256,
  });
  // Loaded only when asked for: the writers pull in execa, which costs start-up on every build.
  const written = formats.some((f) => f !== 'raw')
    ? await (await import('../../builder/outputs/write.js')).writeOutputs({ image: result.image, size: result.manifest.diskSize, dataRanges: result.dataRanges, ...(result.manifest.image.sha256 ? { sha256: result.manifest.image.sha256 } : {}) }, formats, (m) => progress.step(m))
    : undefined;
  // A gz or xz output read every byte: its sha256 of the whole image goes into the manifest for free.
  if (written?.sha256 && !result.manifest.image.sha256) {
    result.manifest.image.sha256 = written.sha256;
    await writeManifest(result.manifestPath, result.manifest);
  }
  if (written?.files.length) progress.done(`wrote ${written.files.join(', ')}`);
  await keepDebugKernel(result.image, result.kernelElf);
  if (a.json) printOut(`${JSON.stringify(result.manifest, null, 2)}\n`);
}
