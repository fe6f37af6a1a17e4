#!/bin/sh
# Installs what bankforge needs on a fresh Debian machine, and only what is missing:
# host tools through apt-get, npm packages through npm ci, then compiles the TypeScript.
# Safe to run again and again; a second run does nothing unless a source changed.
set -eu
cd "$(dirname "$0")/.."

# command -> Debian package that provides it
need=""
for pair in clang:clang ld.lld:lld lld-link:lld wasm-ld:lld qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils \
            sgdisk:gdisk fsck.fat:dosfstools mkfs.fat:dosfstools mcopy:mtools bmaptool:bmap-tools \
            genimage:genimage llvm-symbolizer:llvm addr2line:binutils \
            xz:xz-utils zstd:zstd losetup:mount openssl:openssl cc:gcc mkfs.ext4:e2fsprogs \
            musl-gcc:musl-tools dpkg-deb:dpkg cpio:cpio strace:strace; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || need="$need $pkg"
done
[ -f /usr/share/OVMF/OVMF_CODE_4M.fd ] || need="$need ovmf"

if [ -n "$need" ]; then
  pkgs=$(printf '%s\n' $need | sort -u | tr '\n' ' ')
  if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
    echo "setup: missing Debian packages: $pkgs; run as root or install them with apt-get" >&2
    exit 1
  fi
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "setup: installing $pkgs" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $pkgs >&2
fi

# npm ci when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

# dist/ is made from the TypeScript sources, the compiler options, package.json, the locked
# packages, common/crc32.c as WebAssembly (with the clang that compiles it) and the bundle step
# alone: when those are byte for byte what it was made from
# (dist/.sources, written last) and nothing in dist/ was written since (a developer's
# `npm run build` or `npx tsc`), it is kept, and a second run compiles nothing (tsc is ~15 s of
# CPU). Anything else (a fresh clone, an edited or a removed file, a compile that did not
# finish) compiles from scratch into an empty dist/, so that no output of a deleted source
# survives.
sources() {
  { find index.ts support partitions builder disk cli qemu test bench -name '*.ts' -type f -print0
    printf '%s\0' tsconfig.json package.json package-lock.json scripts/crc32-wasm.mjs common/crc32.c common/crc32.h common/bftypes.h \
      scripts/bundle-cli.mjs bin/load-bundle.js; } |
    LC_ALL=C sort -z | xargs -0 sha256sum
  node --version   # the bundle's V8 code cache is for one V8
  clang --version | head -n 1   # and the WebAssembly CRC-32 comes from one clang
}
# The record is taken before the compile: a source changed while tsc runs is not recorded as compiled.
stamp=$(sources)
if [ -f dist/.sources ] && [ -z "$(find dist -newer dist/.sources -print -quit)" ] && [ "$stamp" = "$(cat dist/.sources)" ]; then
  echo "setup: dist/ is up to date with the sources" >&2
else
  rm -rf dist
  npx tsc -p tsconfig.json
  node scripts/crc32-wasm.mjs
  node scripts/bundle-cli.mjs
  printf '%s\n' "$stamp" > dist/.sources
fi
