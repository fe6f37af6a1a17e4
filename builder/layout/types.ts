// A layout as the builder uses it once the JSON file has been checked: sizes in bytes, types
// as GUIDs, content sources as absolute paths. `field` keeps where each piece came from, so
// later checks (placement, FAT fit) can still name the field in the file.

import type { Bytes, SectorSize } from '../../partitions/units.js';

export type Filesystem = 'fat12' | 'fat16' | 'fat32' | 'raw';

/** Files the pipeline produces for a partition, named in layouts as {"artifact": NAME}. */
export const ARTIFACTS = ['bank', 'loader'] as const;
export type ArtifactName = (typeof ARTIFACTS)[number];

export type ContentSource =
  | { kind: 'dir'; path: string; to: string; field: string }
  | { kind: 'file'; path: string; to: string; field: string }
  | { kind: 'artifact'; name: ArtifactName; to: string; field: string };

export interface PartitionSpec {
  /** "partitions[2]" */
  field: string;
  name: string;
  typeGuid: string;
  gptName: string;
  filesystem: Filesystem;
  label: string;
  size: Bytes | 'fill';
  start: Bytes | undefined;
  guid: string | undefined;
  attributes: bigint;
  clusterSize: Bytes | undefined;
  /** A boot bank: its FAT stops 8 KiB short of the partition end, where the state area lives. */
  bank: 'A' | 'B' | undefined;
  contents: ContentSource[];
}

/** What the layout adds to the host the kernel runs (docs/host.md). */
export interface HostSpec {
  /** Initial configuration ("hostname": "esx01"), written into the store's configuration area. */
  settings: Record<string, string>;
  /** Files added to (or replacing files of) the base system archive the kernel unpacks. */
  files: ContentSource[];
}

/** A stock Linux payload for the banks (docs/boot-protocol.md, "Linux payloads"); paths absolute. */
export interface LinuxSpec {
  kernel: string;
  initrd?: string;
  /** The kernel command line (boot.cfg kernelopt=). */
  cmdline: string;
}

export interface LayoutSpec {
  /** The file it was read from, as given (for messages). */
  file: string;
  name: string;
  description: string;
  sectorSize: SectorSize;
  alignment: Bytes;
  diskSize: Bytes | 'fit';
  seed: string;
  diskGuid: string | undefined;
  host: HostSpec | undefined;
  linux: LinuxSpec | undefined;
  partitions: PartitionSpec[];
}
