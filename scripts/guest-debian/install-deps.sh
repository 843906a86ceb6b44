#!/bin/sh
# Installs the Debian packages `make guest-debian` builds the Debian cloud
# image with: mmdebstrap (the root file system, from Debian's archive),
# e2fsprogs (mke2fs -d: ext4 from a directory, no mount), gdisk (sgdisk: the
# GPT on an image file), dosfstools and mtools (the EFI system partition,
# written without mounting it), grub-pc-bin and grub-efi-amd64-bin (GRUB's
# BIOS and UEFI images, made with grub-mkimage and written into the image
# file), qemu-utils (qemu-img) and ovmf (the UEFI firmware the image is booted
# with). Nothing needs a loop device or a mount.
# Idempotent: when every package is installed it prints nothing and never
# calls apt. Needs root (or sudo) only when something is missing.
set -eu

PACKAGES="mmdebstrap e2fsprogs gdisk dosfstools mtools grub-pc-bin grub-efi-amd64-bin grub-common qemu-utils ovmf"

missing=""
for pkg in $PACKAGES; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps.sh: these packages are missing and apt-get is not available:$missing" >&2
    echo "install-deps.sh: the Debian image is built with Debian's tools; use a Debian (or derived) host" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-deps.sh: run as root to install:$missing" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "install-deps.sh: installing:$missing" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2086 # the package list is meant to split into words
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi

for tool in mmdebstrap mke2fs sgdisk mkfs.vfat mcopy mmd grub-mkimage qemu-img; do
  command -v "$tool" >/dev/null 2>&1 || { echo "install-deps.sh: '$tool' is still missing after installing $PACKAGES" >&2; exit 1; }
done
for f in /usr/lib/grub/i386-pc/boot.img /usr/lib/grub/x86_64-efi/linux.mod /usr/share/OVMF/OVMF_CODE_4M.fd; do
  [ -f "$f" ] || { echo "install-deps.sh: $f is missing after installing $PACKAGES" >&2; exit 1; }
done
