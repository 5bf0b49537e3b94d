// A minimal PNG writer (RGB, no dependencies) for benchmark heatmaps and plots.
import zlib from 'node:zlib';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** Encodes width×height RGB pixels (3 bytes each, row-major). */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0;
    Buffer.from(rgb.buffer, rgb.byteOffset + y * width * 3, width * 3).copy(raw, y * (width * 3 + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/**
 * A heatmap of values in [0, 1] (rows × cols), red (0) → green (1), cells of `cell` pixels with a
 * one-pixel grid. NaN cells (not measured) are grey.
 */
export function heatmapPng(values: number[][], cell = 24): Buffer {
  const rows = values.length;
  const cols = rows ? values[0].length : 0;
  const width = cols * cell + 1;
  const height = rows * cell + 1;
  const rgb = new Uint8Array(width * height * 3).fill(255);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = values[r][c];
      const color = Number.isNaN(v) ? [160, 160, 160] : [Math.round(220 * (1 - v)), Math.round(200 * v), 60];
      for (let y = r * cell + 1; y < (r + 1) * cell; y++) {
        for (let x = c * cell + 1; x < (c + 1) * cell; x++) rgb.set(color, (y * width + x) * 3);
      }
    }
  }
  return encodePng(width, height, rgb);
}
