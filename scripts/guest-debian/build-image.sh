#!/usr/bin/env bash
# `make guest-debian`: builds a Debian 12 (bookworm) cloud image from Debian
# packages: a GPT disk that firmware boots like a published cloud image (BIOS
# through GRUB in a BIOS boot partition, UEFI through GRUB at the removable
# path EFI/BOOT/BOOTX64.EFI), with systemd, the generic kernel (it has 9p),
# cloud-init reading a NoCloud seed, openssh-server, DHCP by
# systemd-networkd, the root file system grown on first boot, and no SSH host
# keys or machine-id of its own.
#
# Nothing is mounted and no loop device is used, so it runs the same in CI:
# mmdebstrap builds the tree, mke2fs -d writes it as ext4 straight into the
# partitioned image file (-E offset=), mkfs.vfat --offset and mtools make the
# EFI system partition, grub-mkimage makes both boot loaders, and the BIOS
# boot code is written into the file here (grub-bios-setup only works on a
# real disk); qemu-img convert -c then makes the qcow2.
#
# The image goes into a cache directory named by a key over the versions of
# every package in it (as the host's apt resolves them), the versions of the
# tools that build it, the tuning and the files of this directory: it is
# rebuilt only when one of them changes. The image's path is the last line of
# standard output; progress goes to standard error. The downloaded .debs are
# kept in the cache too, so a rebuild downloads only what changed.
#
# Usage: build-image.sh [--tuning tuned|untuned]
#   tuned (the default) boots quickly under TCG: no GRUB menu, an initramfs
#   with only the disk drivers, cloud-init trimmed to a NoCloud seed (one SSH
#   host key type, one Python start-up less per boot), the root partition
#   grown by systemd instead of cloud-init, and units and drivers a headless
#   VM does not need masked (rootfs-tuned/, customize.sh). untuned keeps
#   Debian's defaults, to compare boot times with.
#
# Environment:
#   DRIVERPLUG_DEBIAN_CACHE  the cache directory
#                            (default ${XDG_CACHE_HOME:-~/.cache}/driverplug/debian)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${DRIVERPLUG_DEBIAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/driverplug/debian}
tuning=tuned

log() { echo "make guest-debian: $*" >&2; }
die() {
  echo "make guest-debian: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
  --tuning)
    [ $# -ge 2 ] || die "--tuning needs a value: tuned or untuned"
    tuning=$2
    shift 2
    ;;
  --tuning=*)
    tuning=${1#--tuning=}
    shift
    ;;
  *) die "unknown argument '$1'; usage: build-image.sh [--tuning tuned|untuned]" ;;
  esac
done
case "$tuning" in
tuned | untuned) ;;
*) die "--tuning is '$tuning'; it must be tuned or untuned" ;;
esac

for tool in apt-get dpkg-query sha256sum mmdebstrap mke2fs sgdisk mkfs.vfat mmd mcopy grub-mkimage qemu-img; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "'$tool' is missing: run 'sh scripts/guest-debian/install-deps.sh' (make setup does) on a Debian host"
done
for f in /usr/lib/grub/i386-pc/boot.img /usr/lib/grub/x86_64-efi/linux.mod; do
  [ -f "$f" ] || die "$f is missing: run 'sh scripts/guest-debian/install-deps.sh'"
done

suite=bookworm
# Explicit sources: the archive, its updates and its security suite (the
# security suite is where the current kernel usually is).
mirrors=(
  "deb http://deb.debian.org/debian $suite main"
  "deb http://deb.debian.org/debian $suite-updates main"
  "deb http://deb.debian.org/debian-security $suite-security main"
)
# What is installed on top of the Essential set and apt. The rest of a
# "standard" system (man pages, editors, firmware) a test VM does without.
packages=(
  linux-image-amd64 initramfs-tools zstd systemd systemd-sysv systemd-resolved udev dbus
  cloud-init cloud-guest-utils openssh-server sudo netbase iproute2 e2fsprogs fdisk procps ca-certificates
)
disk_gib=2

# --- the key -----------------------------------------------------------------
# Every package the image will hold, with the version apt would install now:
# apt resolves against an empty package database, once as mmdebstrap's
# "apt" variant does (dist-upgrade pulls in the Essential set) and once for
# the packages above.
resolve() {
  apt-get -s -q -o Dir::State::status=/dev/null -o Debug::NoLocking=1 --no-install-recommends "$@" 2>&1 |
    sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1=\2/p'
}
closure=$({
  resolve dist-upgrade
  resolve install "${packages[@]}"
} | LC_ALL=C sort -u)
[ -n "$closure" ] || die "apt resolved no packages: run 'apt-get update' (as root) and retry"
kernel_pkg=$(echo "$closure" | sed -n 's/^\(linux-image-[0-9][^=]*-amd64\)=.*/\1/p' | head -n 1)
[ -n "$kernel_pkg" ] || die "apt resolved no versioned kernel for linux-image-amd64 (run apt-get update?)"
kver=${kernel_pkg#linux-image-}
grep -q "^systemd=" <<<"$closure" || die "apt could not resolve the image's packages (is this host's apt set up for Debian $suite?)"
tools=$(dpkg-query -W -f='${Package}=${Version}\n' mmdebstrap e2fsprogs gdisk dosfstools mtools grub-pc-bin grub-efi-amd64-bin grub-common qemu-utils 2>/dev/null)
files_sum=$(cd "$here" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-64)
key_sum=$(printf '%s\n' "$suite" "${mirrors[@]}" "$closure" "$tools" "$tuning" "$files_sum" | sha256sum | cut -c1-12)
key="debian-12-$tuning-$kver-$key_sum"
out="$cache/$key"
image_name=debian-12-amd64.qcow2

if [ -f "$out/image.json" ] && [ -f "$out/$image_name" ]; then
  log "up to date ($key, $(echo "$closure" | wc -l) packages)"
  echo "$out/$image_name"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "building the image needs root (mmdebstrap --mode=root installs packages into a directory); run it as root or with sudo"

mkdir -p "$cache/debs"
work=$(mktemp -d "$cache/.build-XXXXXX")
# (mmdebstrap's mounts for the chroot live in a private mount namespace, below,
# so nothing here is ever a mount point; --one-file-system all the same.)
trap 'rm -rf --one-file-system "$work"' EXIT
root="$work/root"
started=$SECONDS
log "building $key ($(echo "$closure" | wc -l) packages, kernel $kver)"

# --- the root file system ----------------------------------------------------
root_uuid=$(cat /proc/sys/kernel/random/uuid)

# Paths dpkg leaves out: documentation, translations, and kernel modules for
# hardware a virtual machine does not have (sound, cameras and TV, Wi-Fi,
# Bluetooth, InfiniBand, most GPUs): about 150 MB less to write and compress.
excludes=(
  /usr/share/man/ /usr/share/info/ /usr/share/lintian/ /usr/share/locale/ /usr/share/doc/
  /lib/modules/*/kernel/sound/ /lib/modules/*/kernel/drivers/media/ /lib/modules/*/kernel/drivers/net/wireless/
  /lib/modules/*/kernel/drivers/bluetooth/ /lib/modules/*/kernel/net/bluetooth/ /lib/modules/*/kernel/net/mac80211/
  /lib/modules/*/kernel/net/wireless/ /lib/modules/*/kernel/drivers/infiniband/ /lib/modules/*/kernel/drivers/staging/
  /lib/modules/*/kernel/drivers/iio/ /lib/modules/*/kernel/drivers/isdn/ /lib/modules/*/kernel/drivers/gpu/drm/amd/
  /lib/modules/*/kernel/drivers/gpu/drm/i915/ /lib/modules/*/kernel/drivers/gpu/drm/nouveau/
  /lib/modules/*/kernel/drivers/gpu/drm/radeon/
)
dpkgopts=()
for p in "${excludes[@]}"; do dpkgopts+=("--dpkgopt=path-exclude=$p*"); done
dpkgopts+=("--dpkgopt=path-include=/usr/share/doc/*/copyright" "--dpkgopt=path-include=/usr/share/locale/locale.alias")

# The .deb cache: hard links in before apt runs, new downloads linked back out
# before mmdebstrap cleans up (--skip=essential/unlink keeps the Essential
# set's .debs around until then).
# mmdebstrap mounts /proc, /sys and /dev/pts in the tree while packages
# install; in a private mount namespace those mounts end with it, even when
# it is killed. dpkg's per-package lines are left out of the progress.
debs="$cache/debs"
# (The hooks are shell code mmdebstrap runs with the tree as $1: single quotes.)
# shellcheck disable=SC2016
unshare --mount --propagation private mmdebstrap --mode=root --variant=apt --skip=essential/unlink \
  --hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
  --include="$(IFS=,; echo "${packages[*]}")" \
  "${dpkgopts[@]}" \
  --setup-hook='mkdir -p "$1/var/cache/apt/archives" && { cp -al "'"$debs"'/." "$1/var/cache/apt/archives/" 2>/dev/null || cp -a "'"$debs"'/." "$1/var/cache/apt/archives/"; }' \
  --essential-hook='bash "'"$here"'/customize.sh" pre "$1" '"$tuning $root_uuid"' "'"$here"'"' \
  --customize-hook='for f in "$1"/var/cache/apt/archives/*.deb; do ln -f "$f" "'"$debs"'/" 2>/dev/null || cp -f "$f" "'"$debs"'/"; done' \
  --customize-hook='cd "$1/var/cache/apt/archives" && for f in "'"$debs"'"/*.deb; do [ -e "${f##*/}" ] || rm -f "$f"; done' \
  "$suite" "$root" "${mirrors[@]}" 2>&1 |
  { grep -v '^\(Selecting\|Preparing\|Unpacking\|Setting up\|Processing\|(Reading\|Get:\)' || true; } >&2
log "root file system made in $((SECONDS - started)) s ($(du -sm "$root" | cut -f1) MB)"

bash "$here/customize.sh" post "$root" "$tuning" "$root_uuid" "$here"

# --- the disk ----------------------------------------------------------------
# GPT: BIOS boot partition 14 (GRUB's core image), EFI system partition 15,
# root 1 last, so it can grow to the end of a bigger disk (the layout of
# Debian's own cloud images).
raw="$work/disk.raw"
truncate -s "${disk_gib}G" "$raw"
esp_start=4096 esp_sectors=131072
root_start=$((esp_start + esp_sectors))
sgdisk -n 14:2048:$((esp_start - 1)) -t 14:ef02 -c 14:bios \
  -n 15:$esp_start:$((root_start - 1)) -t 15:ef00 -c 15:esp \
  -n 1:$root_start:0 -t 1:8300 -c 1:root "$raw" >/dev/null
root_end=$(sgdisk -i 1 "$raw" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p')
[ -n "$root_end" ] || die "sgdisk made no root partition"

mke2fs -q -F -t ext4 -L root -U "$root_uuid" -E "offset=$((root_start * 512)),nodiscard" -d "$root" \
  "$raw" "$(((root_end - root_start + 1) / 2))k"

# Both boot loaders carry every module they need and a first config that finds
# the root file system by UUID; they then read /boot/grub/grub.cfg there.
sed -e "s/@ROOT_UUID@/$root_uuid/g" -e '/^#/d' -e '/^$/d' "$here/grub/early.cfg" >"$work/early.cfg"
grub_modules=(part_gpt ext2 search search_fs_uuid configfile normal linux echo test serial terminal)
grub-mkimage -O x86_64-efi -o "$work/BOOTX64.EFI" -c "$work/early.cfg" -p /boot/grub "${grub_modules[@]}" fat efi_gop
grub-mkimage -O i386-pc -o "$work/core.img" -c "$work/early.cfg" -p /boot/grub "${grub_modules[@]}" biosdisk

# (mkfs.vfat warns that the file is bigger than the file system: it is meant to be.)
mkfs.vfat -F 32 -s 1 -n ESP --offset "$esp_start" "$raw" "$((esp_sectors / 2))" >"$work/mkfs.log" 2>&1 ||
  die "mkfs.vfat failed: $(cat "$work/mkfs.log")"
mmd -i "$raw@@$((esp_start * 512))" ::/EFI ::/EFI/BOOT
mcopy -i "$raw@@$((esp_start * 512))" "$work/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI

bash "$here/write-bios-boot.sh" "$raw" /usr/lib/grub/i386-pc/boot.img "$work/core.img" 2048 $((esp_start - 2048))

qemu-img convert -c -O qcow2 "$raw" "$work/$image_name"

# --- the manifest ------------------------------------------------------------
installed=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Package}=${Version}\n' | LC_ALL=C sort)
printf '%s\n' "$installed" >"$work/packages.txt"
cat >"$work/image.json" <<EOF
{
  "name": "driverplug-debian-12",
  "version": "$key",
  "disk": "$image_name",
  "format": "qcow2",
  "virtualSizeGiB": $disk_gib,
  "arch": "x86_64",
  "firmware": ["bios", "uefi"],
  "sshUser": "debian",
  "cloudInit": "NoCloud",
  "kernel": "$kver",
  "sharedDirs": "9p",
  "tuning": "$tuning"
}
EOF
# The same image as a disk-image bundle, for the driver's --bundle.
cat >"$work/bundle.json" <<EOF
{
  "name": "driverplug-debian-12",
  "version": "$key",
  "disk": "$image_name",
  "sshUser": "debian",
  "readiness": "virtio-serial"
}
EOF

mkdir "$work/out"
mv "$work/$image_name" "$work/image.json" "$work/bundle.json" "$work/packages.txt" "$work/out/"
# Another build may have finished first: its image is as good as this one.
if ! mv -T "$work/out" "$out" 2>/dev/null; then
  [ -f "$out/image.json" ] || die "could not move the image to $out"
fi
log "built in $((SECONDS - started)) s: $(du -m "$out/$image_name" | cut -f1) MB qcow2, $(echo "$installed" | wc -l) packages"
echo "$out/$image_name"
