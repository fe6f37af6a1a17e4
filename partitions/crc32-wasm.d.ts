// The module scripts/crc32-wasm.mjs writes at build time, dist/partitions/crc32-wasm.js:
// common/crc32.c compiled to WebAssembly, base64.
export declare const CRC32_WASM: string;
