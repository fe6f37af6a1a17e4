// Reads the PNG screenshots QEMU writes (Machine.screenshot): 8-bit RGB, not interlaced, which
// is what QEMU's screendump produces. Just enough of PNG to get the pixels back for a test to
// count: the IHDR fields, the IDAT chunks inflated, and each row's filter undone.

import { readFile } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';

export interface Rgb { width: number; height: number; rgb: Buffer }

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export async function readPng(file: string): Promise<Rgb> {
  const data = await readFile(file);
  if (!data.subarray(0, 8).equals(SIGNATURE)) throw new Error(`${file} is not a PNG`);
  let width = 0, height = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at + 8 <= data.length;) {
    const length = data.readUInt32BE(at);
    const type = data.toString('latin1', at + 4, at + 8);
    const body = data.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      // bit depth, colour type (2: RGB), compression, filter method, interlace (0: none)
      if (![...body.subarray(8, 13)].every((v, i) => v === [8, 2, 0, 0, 0][i])) throw new Error(`${file}: not 8-bit RGB without interlace`);
    } else if (type === 'IDAT') idat.push(body);
    at += 12 + length;   // length, type, body, CRC
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 3;
  if (raw.length !== height * (stride + 1)) throw new Error(`${file}: ${raw.length} bytes of pixel data for ${width}x${height}`);
  const rgb = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const line = raw.subarray(y * (stride + 1), (y + 1) * (stride + 1));
    unfilter(line[0]!, line.subarray(1), rgb, y * stride, stride);
  }
  return { width, height, rgb };
}

/** Undoes one row's filter (PNG spec 9.2) into `out` at `row`; the row above is already there. */
function unfilter(filter: number, line: Buffer, out: Buffer, row: number, stride: number): void {
  for (let x = 0; x < stride; x++) {
    const a = x >= 3 ? out[row + x - 3]! : 0;
    const b = row ? out[row - stride + x]! : 0;
    const c = x >= 3 && row ? out[row - stride + x - 3]! : 0;
    let p: number;
    switch (filter) {
      case 0: p = 0; break;
      case 1: p = a; break;
      case 2: p = b; break;
      case 3: p = (a + b) >> 1; break;
      case 4: {
        const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
        p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        break;
      }
      default: throw new Error(`PNG row filter ${filter}`);
    }
    out[row + x] = (line[x]! + p) & 0xff;
  }
}
