// `bankforge build`: argument handling around builder/build.ts.

import { build } from '../../builder/build.js';
import { debugKernelPath, keepDebugKernel } from '../../builder/pipeline/debug-kernel.js';
import { BankforgeError } from '../../support/errors.js';
import { makeProgress } from '../../support/progress.js';
import type { SectorSize } from '../../partitions/units.js';
import { outputPath, parseFormats } from '../../builder/outputs/formats.js';
import { EPOCH_MAX_FAT, sourceDateEpoch } from '../source-date-epoch.js';
import { wholeNumber } from '../whole-number.js';

interface Args { layout: string; out?: string; version: string; sectorSize?: number; seed?: string; kernelopt: string; bootTimeout: string; json: boolean; quiet: boolean; format: string[] }

export async function run(a: Args): Promise<void> {
  const epoch = sourceDateEpoch(undefined, EPOCH_MAX_FAT, 'the last FAT date, 2107-12-31');
  if (/[\r\n]/.test(a.kernelopt)) throw new BankforgeError('--kernelopt: must be one line (it becomes boot.cfg\'s kernelopt=)');
  const bootTimeout = wholeNumber('--boot-timeout', a.bootTimeout, 0, 3600, 'whole seconds');
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
    bootTimeout,
    progress,
  });
  // Loaded only when asked for: the writers pull in execa, which costs start-up on every build.
  const outputs = formats.some((f) => f !== 'raw')
    ? await (await import('../../builder/outputs/write.js')).writeOutputs({ image: result.image, size: result.manifest.diskSize, dataRanges: result.dataRanges, sha256: result.manifest.image.sha256 }, formats, (m) => progress.step(m))
    : [];
  if (outputs.length) progress.done(`wrote ${outputs.join(', ')}`);
  await keepDebugKernel(result.image, result.manifest);
  if (a.json) process.stdout.write(`${JSON.stringify(result.manifest, null, 2)}\n`);
}
