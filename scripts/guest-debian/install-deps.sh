#!/bin/sh
# Installs the Debian packages `make guest-debian` builds the Debian cloud
# image with: mmdebstrap (the root file system, from Debian's archive),
# e2fsprogs (mke2fs -d: ext4 from a directory, no mount), gdisk (sgdisk: the
# GPT on an image file), dosfstools and mtools (the EFI system partition,
# written without mounting it), grub-pc-bin and grub-efi-amd64-bin (GRUB's
# BIOS and UEFI images, made with grub-mkimage and written into the image
# file), qemu-utils (qemu-img) and ovmf (the UEFI firmware the image is booted
# with). Nothing needs a loop device or a mount.
set -eu

PACKAGES="mmdebstrap e2fsprogs gdisk dosfstools mtools grub-pc-bin grub-efi-amd64-bin grub-common qemu-utils ovmf"

# shellcheck source=scripts/apt-packages.sh
. "$(dirname "$0")/../apt-packages.sh"
apt_install install-deps.sh "$PACKAGES" "the Debian image is built with Debian's tools; use a Debian (or derived) host"
apt_require_tools install-deps.sh "$PACKAGES" mmdebstrap mke2fs sgdisk mkfs.vfat mcopy mmd grub-mkimage qemu-img
for f in /usr/lib/grub/i386-pc/boot.img /usr/lib/grub/x86_64-efi/linux.mod /usr/share/OVMF/OVMF_CODE_4M.fd; do
  [ -f "$f" ] || { echo "install-deps.sh: $f is missing after installing $PACKAGES" >&2; exit 1; }
done
