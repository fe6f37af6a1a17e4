// How every command ends with `--json` when it fails: one JSON document on stdout (where the
// successful result would have gone, so `bankforge X --json | jq` always gets JSON), and the same
// exit code as without --json. Shape (docs/cli.md):
//   {"error": {"code": 3, "kind": "input", "message": "...", "file": "...", "field": "...", "offset": 4096}}
// `kind` is the exit code's name in support/exit-codes.ts; file, field and offset appear when the
// error carries them (a layout's file and field, a FAT field, a byte offset in an image).

import { EXIT, type ExitName } from '../support/exit-codes.js';

export interface JsonError {
  error: { code: number; kind: ExitName | 'unknown'; message: string; file?: string; field?: string; offset?: number };
}

export function jsonError(e: unknown, code: number, message: string): JsonError {
  const kind = (Object.keys(EXIT) as ExitName[]).find((k) => EXIT[k] === code) ?? 'unknown';
  const out: JsonError['error'] = { code, kind, message };
  const own = (key: string): unknown => (e !== null && typeof e === 'object' && Object.hasOwn(e, key) ? (e as Record<string, unknown>)[key] : undefined);
  const file = own('file');
  const field = own('field');
  const offset = own('offset');
  if (typeof file === 'string') out.file = file;
  if (typeof field === 'string' && field) out.field = field;
  if (typeof offset === 'number' && Number.isSafeInteger(offset)) out.offset = offset;
  return { error: out };
}
