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

/** Each byte's two upper-case hex digits: GPT readers turn hundreds of entries into text. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase().padStart(2, '0'));

/** The text form of the 16 on-disk bytes at `at`. */
export function guidFromBytes(bytes: Uint8Array, at = 0): string {
  if (at < 0 || bytes.length < at + 16) throw new RangeError(`a GUID needs 16 bytes at ${at}, the buffer has ${bytes.length}`);
  const h = (i: number) => HEX[bytes[at + i]!]!;
  return `${h(3)}${h(2)}${h(1)}${h(0)}-${h(5)}${h(4)}-${h(7)}${h(6)}-${h(8)}${h(9)}-${h(10)}${h(11)}${h(12)}${h(13)}${h(14)}${h(15)}`;
}
