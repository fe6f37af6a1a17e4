// Reading the guest's screen back as text: a QMP screendump (PPM) cut into the kernel console's
// cells and each cell matched, pixel for pixel, against the kernel's own glyphs, which are read
// from the kernel's source (kernel/font.c, FONT_FIRST in kernel/defs.h), never from a copy. A
// cell is exact or it is not ours: no OCR, no guessing. Each cell also gives its two colours.
// The cell size follows kernel/fbcon.c: 8x8 glyphs at 2x or 1x; the reader tries both and keeps
// the one under which the most cells are glyphs.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BankforgeError, EXIT } from '../support/errors.js';
import { PACKAGE_ROOT } from '../support/package-info.js';

/** A cell no glyph matches: what the firmware drew, a picture, or a half-painted cell. */
export const UNKNOWN_CELL = '\ufffd';

export interface ScreenCell {
  ch: string;
  /** Colours as "#rrggbb"; fg is undefined for a cell with no lit pixel (a space). */
  fg: string | undefined;
  bg: string;
}

export interface Screen {
  cols: number;
  rows: number;
  /** One string per row, `cols` characters each. */
  text: string[];
  cells: ScreenCell[][];
  /** How many cells matched no glyph. */
  unknown: number;
}

export interface Font {
  /** The glyph's 8 row bytes (bit 7 = leftmost column) as 16 hex digits -> the character. */
  byBitmap: Map<string, string>;
}

let cachedFont: Font | undefined;

/**
 * Parses the kernel's font: `first` comes from `#define FONT_FIRST` in defs.h; each `G("#...",
 * ...)` line of font.c is the next character, eight rows of '#'/'.' art that sit in the cell's
 * columns from the shift in font.c's PX macro (bit 7 is the cell's left column).
 */
export function parseFont(fontC: string, defsH: string): Font {
  const first = /#define FONT_FIRST (\d+)/.exec(defsH);
  const px = /#define PX\(s, i\) \(\(\(s\)\[i\] == '#'\) << \((\d+) - \(i\)\)\)/.exec(fontC);
  if (!first || !px) throw new BankforgeError('kernel/font.c or kernel/defs.h no longer has FONT_FIRST or the PX macro the screen reader parses', EXIT.internal);
  const top = Number(px[1]);
  const byBitmap = new Map<string, string>();
  let code = Number(first[1]);
  for (const m of fontC.matchAll(/^\s*G\(((?:"[.#]+",?\s*){8})\)/gm)) {
    const rows = [...m[1]!.matchAll(/"([.#]+)"/g)].map((r) => r[1]!);
    const bytes = rows.map((r) => [...r].reduce((b, c, i) => b | (c === '#' ? 1 << (top - i) : 0), 0));
    const key = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
    const ch = String.fromCharCode(code++);
    // Two identical glyphs would make reading ambiguous; the first one (the space) wins.
    if (!byBitmap.has(key)) byBitmap.set(key, ch);
  }
  if (byBitmap.size < 90) throw new BankforgeError(`kernel/font.c: parsed only ${byBitmap.size} glyphs`, EXIT.internal);
  return { byBitmap };
}

export function kernelFont(): Font {
  cachedFont ??= parseFont(readFileSync(join(PACKAGE_ROOT, 'kernel', 'font.c'), 'utf8'), readFileSync(join(PACKAGE_ROOT, 'kernel', 'defs.h'), 'utf8'));
  return cachedFont;
}

export interface Rgb { width: number; height: number; rgb: Uint8Array }

/** A binary PPM (P6, maxval 255), what QMP screendump writes by default. */
export function parsePpm(data: Uint8Array): Rgb {
  const head = new TextDecoder('latin1').decode(data.subarray(0, 64));
  const m = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(head);
  if (!m) throw new BankforgeError(`not a binary PPM (starts with ${JSON.stringify(head.slice(0, 8))})`, EXIT.internal);
  const [width, height, maxval] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const at = m[0].length;
  if (maxval !== 255 || data.length < at + width * height * 3) throw new BankforgeError(`PPM ${width}x${height} maxval ${maxval}: ${data.length} bytes is not a whole picture`, EXIT.internal);
  return { width, height, rgb: data.subarray(at, at + width * height * 3) };
}

/** "#rrggbb" for a colour, made once per colour a screen uses. */
function colourNames(): (v: number) => string {
  const names = new Map<number, string>();
  return (v) => {
    let name = names.get(v);
    if (name === undefined) names.set(v, name = `#${v.toString(16).padStart(6, '0')}`);
    return name;
  };
}

/** A glyph's 8 row bytes as the font's key (16 hex digits). */
function glyphKey(bytes: number[]): string {
  let key = '';
  for (const b of bytes) key += (b < 16 ? '0' : '') + b.toString(16);
  return key;
}

function decode(img: Rgb, font: Font, scale: number): Screen {
  const cell = 8 * scale;
  const cols = Math.floor(img.width / cell), rows = Math.floor(img.height / cell);
  const { rgb, width } = img;
  const px = (x: number, y: number) => {
    const i = (y * width + x) * 3;
    return rgb[i]! << 16 | rgb[i + 1]! << 8 | rgb[i + 2]!;
  };
  const colour = colourNames();
  const space = font.byBitmap.get(glyphKey([0, 0, 0, 0, 0, 0, 0, 0]));
  const text: string[] = [], cells: ScreenCell[][] = [];
  let unknown = 0;
  for (let r = 0; r < rows; r++) {
    let line = '';
    const row: ScreenCell[] = [];
    for (let c = 0; c < cols; c++) {
      const x0 = c * cell, y0 = r * cell;
      // Column 0 of every glyph is empty (font.c), so the top left pixel is the background.
      const bg = px(x0, y0);
      // Most cells are blank: one pass over the cell's pixels settles those.
      let blank = true;
      for (let y = y0; y < y0 + cell && blank; y++) for (let x = x0; x < x0 + cell && blank; x++) blank = px(x, y) === bg;
      if (blank && space !== undefined) {
        line += space;
        row.push({ ch: space, fg: undefined, bg: colour(bg) });
        continue;
      }
      let fg: number | undefined;
      let ok = true;
      const bytes: number[] = [];
      for (let gy = 0; gy < 8 && ok; gy++) {
        let b = 0;
        for (let gx = 0; gx < 8 && ok; gx++) {
          const v = px(x0 + gx * scale, y0 + gy * scale);
          for (let sy = 0; sy < scale && ok; sy++) for (let sx = 0; sx < scale && ok; sx++) ok = px(x0 + gx * scale + sx, y0 + gy * scale + sy) === v;
          if (v === bg) continue;
          fg ??= v;
          if (v !== fg) ok = false;
          b |= 0x80 >> gx;
        }
        bytes.push(b);
      }
      const ch = ok ? font.byBitmap.get(glyphKey(bytes)) : undefined;
      if (ch === undefined) unknown++;
      line += ch ?? UNKNOWN_CELL;
      row.push({ ch: ch ?? UNKNOWN_CELL, fg: fg === undefined ? undefined : colour(fg), bg: colour(bg) });
    }
    text.push(line);
    cells.push(row);
  }
  return { cols, rows, text, cells, unknown };
}

/** The screen as the kernel console's cells: at 2x, or at 1x when fewer of its cells are glyphs there. */
export function readScreen(img: Rgb, font: Font = kernelFont()): Screen {
  const scales = [2, 1].filter((s) => img.width >= 8 * s && img.height >= 8 * s);
  if (!scales.length) throw new BankforgeError(`a ${img.width}x${img.height} screen holds no cell`, EXIT.internal);
  let best: Screen | undefined;
  for (const s of scales) {
    // A reading with every cell a glyph cannot be beaten: the other scale is not tried.
    if (best?.unknown === 0) break;
    const next = decode(img, font, s);
    if (!best || next.unknown / (next.cols * next.rows) < best.unknown / (best.cols * best.rows)) best = next;
  }
  return best!;
}

/** The screen did not show the pattern in time. */
export class ScreenTimeoutError extends BankforgeError {
  constructor(readonly pattern: RegExp, readonly elapsedMs: number, readonly last: Screen | undefined, who: string) {
    super(`timed out after ${(elapsedMs / 1000).toFixed(1)} s waiting for ${pattern} on the screen of ${who}; the screen:\n${last ? screenString(last) : '(no screendump)'}`, EXIT.timeout);
  }
}

/** The rows with their trailing spaces cut and trailing empty rows dropped, for messages and logs. */
export function screenString(s: Screen): string {
  const rows = s.text.map((r) => r.trimEnd());
  while (rows.length && !rows[rows.length - 1]) rows.pop();
  return rows.map((r) => `  | ${r}`).join('\n');
}
