// GUIDs as GPT stores them: text form "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX", on disk in the
// mixed-endian layout of the UEFI spec (first three fields little-endian, the rest as written).
// Making them from a seed is seeded-ids.ts' (it needs node:crypto, which readers of a GPT do not).

const GUID_TEXT = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/i;

export function isGuid(text: string): boolean {
  return GUID_TEXT.test(text);
}

/** Canonical upper-case text form; throws when `text` is not a GUID. */
export function normalizeGuid(text: string): string {
  if (!isGuid(text)) throw new Error(`not a GUID: "${text}" (expected XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX)`);
  return text.toUpperCase();
}

/** The 16 on-disk bytes of a GUID. */
export function guidToBytes(text: string): Buffer {
  const hex = normalizeGuid(text).replace(/-/g, '');
  const raw = Buffer.from(hex, 'hex');
  const out = Buffer.from(raw);
  // Data1 (4 bytes), Data2 (2), Data3 (2) are little-endian on disk.
  out.writeUInt32LE(raw.readUInt32BE(0), 0);
  out.writeUInt16LE(raw.readUInt16BE(4), 4);
  out.writeUInt16LE(raw.readUInt16BE(6), 6);
  return out;
}

export function guidFromBytes(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, 16);
  const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, '0');
  const tail = b.subarray(8, 16).toString('hex').toUpperCase();
  return `${hex(b.readUInt32LE(0), 8)}-${hex(b.readUInt16LE(4), 4)}-${hex(b.readUInt16LE(6), 4)}-${tail.slice(0, 4)}-${tail.slice(4)}`;
}
