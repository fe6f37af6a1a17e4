#!/bin/sh
# Fetches the Debian packages the Linux payload examples and tests use, without installing them:
# the stock kernel (linux-image-amd64 -> linux-image-<abi>-amd64, an EFI-stub bzImage) and
# busybox-static, downloaded with `apt-get download` into .cache/debs/ (git-ignored) and unpacked
# with `dpkg-deb -x` into .cache/linux/. Prints nothing on stdout but the paths, one per line:
#   KERNEL=<vmlinuz>
#   BUSYBOX=<busybox>
#   MODULES=<a directory for `bankforge initramfs --dir`: lib/modules/*.ko and lib/modules/load-order>
# Debian builds the drivers of the disks bankforge boots from as modules (virtio-blk; xHCI, USB
# mass storage and SCSI disks for sticks; efivarfs for the loader's EFI variable); MODULES holds
# them with a load-order file that lists them dependencies first (from each module's depends=).
# A second run reuses what is there. Needs apt-get (Debian); no root needed unless the package
# lists were never downloaded (then `apt-get update` runs, as root).
set -eu
cd "$(dirname "$0")/.."
cache=.cache
mkdir -p "$cache/debs" "$cache/linux"

# linux-image-amd64 is a metapackage; the kernel is in the versioned package it depends on.
depends() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1; }
image_pkg=$(depends)
# No answer: when apt knows nothing of linux-image-amd64, the package lists were never downloaded
# (apt-get update never ran). Each apt-cache call costs a second of CPU here, so the lists are
# checked only then.
if [ -z "$image_pkg" ] && [ -z "$(apt-cache policy linux-image-amd64 2>/dev/null)" ]; then
  apt-get update -qq >&2
  image_pkg=$(depends)
fi
[ -n "$image_pkg" ] || { echo "fetch-linux: cannot find the kernel package linux-image-amd64 depends on" >&2; exit 1; }

fetch() {   # package -> the .deb in $cache/debs
  set -- "$1" "$(ls "$cache/debs/$1"_*.deb 2>/dev/null | head -n 1)"
  if [ -z "$2" ]; then
    (cd "$cache/debs" && apt-get download -q "$1" >&2)
    set -- "$1" "$(ls "$cache/debs/$1"_*.deb | head -n 1)"
  fi
  printf '%s\n' "$2"
}

kdeb=$(fetch "$image_pkg")
bdeb=$(fetch busybox-static)
kdir="$cache/linux/$image_pkg"
bdir="$cache/linux/busybox-static"
[ -d "$kdir/boot" ] || { rm -rf "$kdir.tmp"; dpkg-deb -x "$kdeb" "$kdir.tmp"; mv "$kdir.tmp" "$kdir"; }
[ -x "$bdir/bin/busybox" ] || { rm -rf "$bdir.tmp"; dpkg-deb -x "$bdeb" "$bdir.tmp"; mv "$bdir.tmp" "$bdir"; }

kernel=$(ls "$kdir"/boot/vmlinuz-* | head -n 1)

# Dependencies first, as each .ko's modinfo depends= says (crct10dif_generic and
# crc64_rocksoft_generic are the crypto providers crc-t10dif and crc64-rocksoft look up by name).
order="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk
usb-common usbcore xhci-hcd xhci-pci scsi_common scsi_mod crct10dif_common crct10dif_generic crc-t10dif
crc64 crc64_rocksoft_generic crc64-rocksoft t10-pi sd_mod usb-storage efivarfs"
mdir="$cache/linux/modules-$image_pkg"
if [ ! -f "$mdir/lib/modules/load-order" ]; then
  rm -rf "$mdir.tmp"; mkdir -p "$mdir.tmp/lib/modules"
  for m in $order; do
    f=$(find "$kdir/lib/modules" -name "$m.ko" | head -n 1)
    [ -n "$f" ] || { echo "fetch-linux: $m.ko is not in $image_pkg" >&2; exit 1; }
    cp "$f" "$mdir.tmp/lib/modules/"
    echo "$m" >> "$mdir.tmp/lib/modules/load-order"
  done
  rm -rf "$mdir"; mv "$mdir.tmp" "$mdir"
fi
echo "KERNEL=$PWD/$kernel"
echo "BUSYBOX=$PWD/$bdir/bin/busybox"
echo "MODULES=$PWD/$mdir"
