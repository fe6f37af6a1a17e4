#!/bin/sh
# npm pack / npm publish run this first: a fresh dist/ of the shipped code with its .d.ts
# (tsconfig.package.json; no tests, no benchmarks, no source maps), common/crc32.c as WebAssembly
# (scripts/crc32-wasm.mjs), the CLI bundled from it
# (scripts/bundle-cli.mjs), then the prebuilt loader and kernel (scripts/prebuild.mjs). Needs
# clang and lld once, here; the package does not.
# Run sh scripts/setup.sh afterwards to get the tests' dist/ back.
set -eu
cd "$(dirname "$0")/.."
rm -rf dist
npx tsc -p tsconfig.package.json
node scripts/crc32-wasm.mjs
node scripts/bundle-cli.mjs
node scripts/prebuild.mjs
