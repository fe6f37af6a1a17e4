// `bankforge build`: layout -> plan every partition -> write a sparse image -> hash its data blocks -> manifest.
// Every check (layout, placement, content that must exist and fit) runs in the planning phase,
// so a rejected build writes nothing; the image is written under a temporary name and renamed
// into place only when complete, so a failed build never leaves a half image behind.

import { rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { BankforgeError, LayoutError } from '../support/errors.js';
import { resolveContents } from './contents.js';
import { loadLayout } from './layout/load.js';
import { placeLayout, type PlacedLayout, type PlacedPartition } from './layout/place.js';
import { manifestPathFor, manifestText, MANIFEST_FORMAT, type Manifest } from './manifest.js';
import { toolVersion } from '../support/package-info.js';
import { checkVersion } from './version.js';
import { pipelineArtifacts, type Artifacts } from './pipeline/artifacts.js';
import { linuxInputs, type LinuxPayload } from './pipeline/linux.js';
import type { Progress } from '../support/progress.js';
import { SparseImageFile, type Range } from './image/sparse-file.js';
import { hashWholeImage } from './image/hash.js';
import { BLOCK_SIZE, blockList, hashPieces, type BlockList } from './image/blocks.js';
import { FatError, planFatVolume, writeFatVolume, type FatPlan, type FatTree, type FatTreeEntry } from '../partitions/fat/index.js';
import { writeGpt } from '../partitions/gpt.js';
import { Bank, BootState, encodeState, newState, pushEvent, Reason, slotOffsets, StateEvent, STATE, type BankState } from '../partitions/bankstate.js';
import { gptTypeName } from '../partitions/gpt-types.js';
import { CONFIG, configAreaMarker, encodeRecord, holdsConfig } from '../partitions/config-record.js';
import { hostArchiveEntries, hostSettings } from './host-files.js';
import { checkPlannedBank } from './bank-content.js';
import { deriveU32 } from '../partitions/seeded-ids.js';
import { KERNEL_FILE } from './pipeline/bank.js';
import type { Bytes, SectorSize } from '../partitions/units.js';
import { checkOutputPaths, createOutput, outputError } from '../support/output-file.js';

/** The loader's menu wait when not given: short, since every boot in CI pays it. */
export const DEFAULT_BOOT_TIMEOUT = 3;

/** FAT timestamps when SOURCE_DATE_EPOCH is not set: 2000-01-01 00:00:00 UTC. */
export const DEFAULT_EPOCH = 946684800;

export interface BuildOptions {
  layout?: string;
  out: string;
  version: string;
  sectorSize?: SectorSize;
  seed?: string;
  /** Seconds since the epoch for every timestamp in the image (SOURCE_DATE_EPOCH). */
  epoch?: number;
  /** boot.cfg timeout: seconds the loader's menu waits (0 = no menu). */
  bootTimeout?: number;
  /** boot.cfg watchdog: seconds a trial may run before it is marked good; 0 = none (default DEFAULT_WATCHDOG). */
  watchdog?: number;
  /** boot.cfg kernelopt: the kernel command line (for a Linux payload, default: the layout's linux.cmdline). */
  kernelopt?: string;
  /** A stock Linux payload for the banks instead of our kernel (default: the layout's "linux"). */
  linux?: LinuxPayload;
  progress?: Progress;
  /** Also record the sha256 of the whole image, holes included: costs the disk's size, not the data's. */
  sha256?: boolean;
  /**
   * The files the caller writes beside the image afterwards (compressed outputs, bmap, the debug
   * kernel): checked with the image's own paths, so that one that cannot be written refuses the
   * build before the image lands.
   */
  sideOutputs?: readonly string[];
}

export interface BuildResult {
  image: string;
  manifestPath: string;
  manifest: Manifest;
  /** Where the image holds data (sorted, merged); everything else is a hole. For the .bmap output. */
  dataRanges: Range[];
  /** The kernel ELF the build put in the banks (our kernel, not a Linux payload), for keepDebugKernel. */
  kernelElf: FileSource | undefined;
}

type FileSource = Extract<FatTreeEntry, { kind: 'file' }>['source'];

type PartitionPlan =
  | { placed: PlacedPartition; kind: 'fat'; plan: FatPlan; tree: FatTree; bankState: BankState | undefined; configArea?: boolean }
  | { placed: PlacedPartition; kind: 'raw'; file: { path: string; size: Bytes } | undefined };

export async function build(opts: BuildOptions): Promise<BuildResult> {
  const progress = opts.progress;
  checkVersion(opts.version);
  const layout = await loadLayout(opts.layout);
  const placed = placeLayout(layout, { ...(opts.sectorSize ? { sectorSize: opts.sectorSize } : {}), ...(opts.seed ? { seed: opts.seed } : {}) });
  const epoch = opts.epoch ?? DEFAULT_EPOCH;
  const settings = hostSettings(layout);
  const hostFiles = await hostArchiveEntries(layout);
  const payload = linuxInputs(layout, opts.linux, opts.kernelopt);
  const artifacts = pipelineArtifacts({ version: opts.version, updated: 1, timeout: opts.bootTimeout ?? DEFAULT_BOOT_TIMEOUT, ...(opts.watchdog !== undefined ? { watchdog: opts.watchdog } : {}), epoch, hostFiles, ...payload }, (m) => progress?.step(m));

  progress?.step(`planning ${layout.name} (${placed.partitions.length} partitions, ${placed.sectorSize}-byte sectors)`);
  const plans: PartitionPlan[] = [];
  for (const p of placed.partitions) plans.push(await planPartition(placed, p, artifacts, epoch, opts.version));
  if (settings && !plans.some((p) => p.kind === 'fat' && p.configArea)) {
    throw new LayoutError(layout.file, 'host.settings', `no partition named "${CONFIG.partition}" keeps the ${CONFIG.areaSize}-byte configuration area at its end (is its FAT too tight for it?)`);
  }
  const manifestPath = manifestPathFor(opts.out);
  checkOutputPaths([opts.out, manifestPath, ...(opts.sideOutputs ?? [])]);

  const out = await createOutput(opts.out);
  const tmp = out.tmp;
  let img: SparseImageFile | undefined;
  let closed: Promise<void> | undefined;
  try {
    img = await SparseImageFile.create(tmp, placed.diskSize, BLOCK_SIZE);
    for (const e of writeGpt({ sectorSize: placed.sectorSize, sectorCount: placed.sectorCount, diskGuid: placed.diskGuid, partitions: placed.partitions.map(gptEntry) })) {
      await img.write(e.offset, e.data);
    }
    for (const plan of plans) {
      progress?.step(`writing ${plan.placed.spec.name}`);
      const sink = img.region(plan.placed.offset, plan.placed.size);
      if (plan.kind === 'fat') {
        await writeFatVolume(plan.plan, sink);
        // Both slots: a fresh record has no older copy, and one damaged sector must not lose the bank.
        if (plan.bankState) for (const at of slotOffsets(plan.placed.size)) await sink.write(at, encodeState(plan.bankState));
        if (plan.configArea) {
          const area = plan.placed.size - CONFIG.areaSize;
          await sink.write(area, configAreaMarker(placed.sectorSize));
          // The layout's settings as the first record (slot 0, seq 1), as `bankforge config set` would write it.
          if (settings) await sink.write(area + CONFIG.markerSize, encodeRecord({ seq: 1, settings }));
        }
      } else if (plan.file) await sink.copyFile(0, plan.file.path, plan.file.size);
    }
    // The image goes to disk (fsync, I/O) while the few blocks written out of order are hashed
    // from the page cache (the rest were hashed as they were written): both are done before it
    // is renamed into place.
    closed = img.close();
    closed.catch(() => undefined); // awaited below, after the hashing; a failure there comes first
    progress?.step('hashing');
    const data = img.dataRanges();
    const digests = await img.hasher.result(async (again) =>
      (await hashPieces({ path: tmp, imageSize: placed.diskSize, blockSize: BLOCK_SIZE, pieces: again.map((b) => ({ first: b, count: 1 })) })).map((d) => d[0]!));
    const blocks = blockList(placed.diskSize, data, digests);
    let shown = Date.now();
    const tick = (what: string) => (done: Bytes, total: Bytes) => {
      if (Date.now() - shown < 1000) return;
      shown = Date.now();
      progress?.step(`${what}: ${Math.floor((done / total) * 100)}% of ${total} bytes`);
    };
    const sha256 = opts.sha256 ? await hashWholeImage(tmp, placed.diskSize, data, tick('hashing the whole image')) : undefined;
    const manifest = makeManifest(opts, layout.sha256, placed, plans, epoch, blocks, sha256);
    // The manifest is written while the image's fsync runs (~1 ms off every build), and renamed
    // into place after the image; a manifest that cannot be written or renamed leaves no image
    // either. The image's own failure, if both fail (a full disk), is the one reported.
    const manifestOut = await createOutput(manifestPath);
    const written = writeFile(manifestOut.tmp, manifestText(manifest)).catch((e: unknown) => { throw outputError(manifestPath, e); });
    written.catch(() => undefined); // awaited below, after the image's fsync
    let committed = false;
    try {
      await closed;
      await written;
      await out.commit();
      committed = true;
      await manifestOut.commit();
    } catch (e) {
      // The temporary is removed only once nothing writes it any more; the image only if what is
      // there is still ours.
      await written.catch(() => undefined);
      await manifestOut.discard();
      if (committed && out.stillOurs()) await rm(opts.out, { force: true }).catch(() => undefined);
      throw e;
    }
    // Two builds to the same path may rename in turn: one's image, then the other's image and
    // manifest, then the first one's manifest. Whenever the pair left there is mixed, the build
    // whose manifest is there finds that the image is not its own (it renamed its image before its
    // manifest, and the other image came after that), so a mixed pair never goes unreported.
    if (!out.stillOurs() || !manifestOut.stillOurs()) {
      throw new BankforgeError(`${opts.out}: something else renamed an image or a manifest into place there while this build did (another build to the same path?), so the image and the manifest there may not belong together; build again, one build per output at a time`);
    }
    progress?.done(`built ${opts.out} (${placed.diskSize} bytes${sha256 ? `, sha256 ${sha256.slice(0, 16)}…` : ''})`);
    return { image: opts.out, manifestPath, manifest, dataRanges: data, kernelElf: bankKernel(plans) };
  } catch (e) {
    await (closed ?? img?.close())?.catch(() => undefined);
    await out.discard();
    if ((e as NodeJS.ErrnoException).code === 'EFBIG') {
      throw new BankforgeError(`cannot write ${opts.out}: the layout's disk is ${placed.diskSize} bytes (${(placed.diskSize / 2 ** 40).toFixed(2)} TiB), more than the file system holding it allows in one file (EFBIG); nothing was left there`);
    }
    throw outputError(opts.out, e);
  }
}

/** What the build wrote to a bank as KERNEL_FILE, if anything. */
function bankKernel(plans: PartitionPlan[]): FileSource | undefined {
  for (const plan of plans) {
    const e = plan.kind === 'fat' && plan.placed.spec.bank ? plan.tree.get(KERNEL_FILE) : undefined;
    if (e?.kind === 'file') return e.source;
  }
  return undefined;
}

/**
 * A bank's first record (docs/boot-state.md, "Fresh images"): valid when the build put
 * something in it, invalid and empty when not, as ESXi leaves bank B after an install.
 */
function initialBankState(bank: 'A' | 'B', tree: FatTree, version: string): BankState {
  const s = tree.size > 0
    ? newState({ bank: bank === 'A' ? Bank.A : Bank.B, bootstate: BootState.Valid, updated: 1, version })
    : newState({ bank: bank === 'A' ? Bank.A : Bank.B, bootstate: BootState.Invalid, updated: 0, reason: Reason.Empty, detail: 'nothing installed' });
  pushEvent(s, StateEvent.Installed);
  return s;
}

async function planPartition(placed: PlacedLayout, p: PlacedPartition, artifacts: Artifacts, epoch: number, version: string): Promise<PartitionPlan> {
  const spec = p.spec;
  const file = placed.spec.file;
  const tree = await resolveContents(file, spec.contents, artifacts);
  if (spec.filesystem === 'raw') {
    const only = [...tree.values()][0];
    if (!only || only.kind !== 'file' || !('path' in only.source)) return { placed: p, kind: 'raw', file: undefined };
    if (only.size > p.size) throw new LayoutError(file, `${spec.field}.contents[0].file`, `${only.source.path} is ${only.size} bytes; the partition holds ${p.size}`);
    return { placed: p, kind: 'raw', file: { path: only.source.path, size: only.size } };
  }
  if (spec.bank && tree.size > 0) await checkPlannedBank(tree, file, `${spec.field}.contents`, spec.bank);
  const bankState = spec.bank ? initialBankState(spec.bank, tree, version) : undefined;
  const type = spec.filesystem;
  const plan = (fatSize: number) => planFatVolume({
    type,
    size: fatSize,
    sectorSize: placed.sectorSize,
    label: spec.label,
    serial: deriveU32(placed.seed, `fat-serial:${spec.name}`),
    timestamp: epoch,
    hiddenSectors: p.firstLba,
    ...(spec.clusterSize ? { clusterSize: spec.clusterSize } : {}),
  }, tree);
  // A bank's FAT stops short of its state area. The store's stops short of the host
  // configuration area (docs/host.md) when the volume still fits without it; when not (16 MiB of
  // FAT16 with 4096-byte sectors has no cluster to spare) the FAT keeps the whole partition and
  // no area is reserved: the kernel then keeps its settings in memory only.
  const fatSize = spec.bank ? p.size - STATE.areaSize : p.size;
  try {
    if (holdsConfig(spec.gptName)) {
      try {
        return { placed: p, kind: 'fat', plan: plan(fatSize - CONFIG.areaSize), tree, bankState, configArea: true };
      } catch (e) {
        if (!(e instanceof FatError)) throw e;
      }
    }
    return { placed: p, kind: 'fat', plan: plan(fatSize), tree, bankState };
  } catch (e) {
    if (e instanceof FatError) {
      // The build's timestamp is not a layout field (the CLI checks SOURCE_DATE_EPOCH first; a library caller gets this).
      if (e.field === 'timestamp') throw new BankforgeError(`epoch: ${e.message}`);
      if (e.field === 'hiddenSectors') {
        throw new LayoutError(file, `${spec.field}.start`, `the ${spec.filesystem} volume would start at byte ${p.offset}; a FAT boot sector records its start sector in 32 bits, so it must start below ${4 * placed.sectorSize} GiB (${placed.sectorSize}-byte sectors)`);
      }
      const field = `${spec.field}.${FAT_FIELD[e.field ?? ''] ?? 'size'}`;
      throw new LayoutError(file, field, `${spec.filesystem} volume of ${fatSize} bytes (${placed.sectorSize}-byte sectors): ${e.message}`);
    }
    throw e;
  }
}

/** Which layout field to blame for a FatError, by the FAT option it names. */
const FAT_FIELD: Record<string, string> = { clusterSize: 'clusterSize', label: 'label', path: 'contents', size: 'size' };

function gptEntry(p: PlacedPartition) {
  return { index: p.index, typeGuid: p.spec.typeGuid, guid: p.guid, firstLba: p.firstLba, lastLba: p.lastLba, attributes: p.spec.attributes, name: p.spec.gptName };
}

function makeManifest(opts: BuildOptions, layoutSha: string, placed: PlacedLayout, plans: PartitionPlan[], epoch: number, blocks: BlockList, sha256: string | undefined): Manifest {
  return {
    format: MANIFEST_FORMAT,
    tool: { name: 'bankforge', version: toolVersion() },
    version: opts.version,
    layout: { name: placed.spec.name, sha256: layoutSha },
    seed: placed.seed,
    sourceDateEpoch: epoch,
    sectorSize: placed.sectorSize,
    diskSize: placed.diskSize,
    diskGuid: placed.diskGuid,
    image: { file: basename(opts.out), size: placed.diskSize, ...(sha256 ? { sha256 } : {}) },
    blocks,
    partitions: plans.map((plan) => {
      const p = plan.placed;
      const files = plan.kind === 'fat'
        ? [...plan.tree].filter(([, e]) => e.kind === 'file').map(([path, e]) => ({ path, size: e.kind === 'file' ? e.size : 0 }))
        : plan.file ? [{ path: basename(plan.file.path), size: plan.file.size }] : [];
      return {
        number: p.index + 1,
        name: p.spec.name,
        gptName: p.spec.gptName,
        type: gptTypeName(p.spec.typeGuid),
        typeGuid: p.spec.typeGuid,
        guid: p.guid,
        filesystem: p.spec.filesystem,
        ...(p.spec.label ? { label: p.spec.label } : {}),
        firstLba: p.firstLba,
        lastLba: p.lastLba,
        offset: p.offset,
        size: p.size,
        files,
      };
    }),
  };
}
