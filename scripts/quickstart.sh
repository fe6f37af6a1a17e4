#!/bin/sh
# The README's first command: install what is missing, build the default (ESXi) image, show
# what is in it, and boot it in QEMU until the kernel's ready line (the image is left unchanged).
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
mkdir -p out
node bin/bankforge.js build --layout esxi --out out/esxi.img
node bin/bankforge.js inspect out/esxi.img
node bin/bankforge.js run out/esxi.img --snapshot --expect '^bankforge: ready ' --timeout 180
