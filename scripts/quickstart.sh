#!/bin/sh
# The README's first command: install what is missing, build the default (ESXi) image and show
# what is in it. (Booting it in QEMU joins here when the boot chain lands.)
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
mkdir -p out
node bin/bankforge.js build --layout esxi --out out/esxi.img
node bin/bankforge.js inspect out/esxi.img
