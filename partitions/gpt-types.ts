// Partition type GUIDs that layouts may name by alias. The GUIDs are the ones the UEFI spec,
// Microsoft, VMware and the Discoverable Partitions Specification assign.

import { isGuid, normalizeGuid } from './guid.js';

export const GPT_TYPE_ALIASES: Readonly<Record<string, string>> = {
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  'basic-data': 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7',
  vmkdiagnostic: '9D275380-40AD-11DB-BF97-000C2911D1B8',
  vmfs: 'AA31E02A-400F-11DB-9590-000C2911D1B8',
  'vmware-reserved': '9198EFFC-31C0-11DB-8F78-000C2911D1B8',
  'linux-data': '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  'bios-boot': '21686148-6449-6E6F-744E-656564454649',
};

/** The all-zero type GUID marks an unused GPT entry: a partition of that type would vanish. */
export const UNUSED_TYPE_GUID = '00000000-0000-0000-0000-000000000000';

/** The type GUID for an alias or a GUID; undefined when it is neither. Own keys only: "constructor" is no alias. */
export function resolveGptType(typeOrAlias: string): string | undefined {
  const key = typeOrAlias.toLowerCase();
  if (Object.hasOwn(GPT_TYPE_ALIASES, key)) return GPT_TYPE_ALIASES[key];
  return isGuid(typeOrAlias) ? normalizeGuid(typeOrAlias) : undefined;
}

/** The alias of a type GUID, for display; the GUID itself when it has none. */
export function gptTypeName(guid: string): string {
  const g = guid.toUpperCase();
  return Object.keys(GPT_TYPE_ALIASES).find((k) => GPT_TYPE_ALIASES[k] === g) ?? g;
}

/** The bit of an attribute name; undefined for anything else ("toString" included). */
export function gptAttributeBit(name: string): number | undefined {
  return Object.hasOwn(GPT_ATTRIBUTE_BITS, name) ? GPT_ATTRIBUTE_BITS[name] : undefined;
}

/** GPT partition attribute bits (UEFI spec table "Defined GPT Partition Entry - Attributes"). */
export const GPT_ATTRIBUTE_BITS: Readonly<Record<string, number>> = {
  'required': 0,
  'no-block-io': 1,
  'legacy-bios-bootable': 2,
  // Microsoft basic-data bits, honoured by Windows and by udisks.
  'read-only': 60,
  'shadow-copy': 61,
  'hidden': 62,
  'no-automount': 63,
};
