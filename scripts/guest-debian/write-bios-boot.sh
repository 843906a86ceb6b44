#!/usr/bin/env bash
# Makes a GPT disk image file BIOS-bootable with GRUB, as grub-install would
# on a real disk (grub-bios-setup refuses a plain file): GRUB's core image
# goes into the BIOS boot partition, the first 512-byte sector of it (GRUB's
# diskboot) learns where the rest of it lies, and GRUB's boot code goes into
# the protective MBR, told where the core image starts. The MBR keeps its
# partition table and disk signature.
#
# Usage: write-bios-boot.sh DISK BOOT_IMG CORE_IMG CORE_LBA MAX_SECTORS
set -euo pipefail

die() {
  echo "write-bios-boot.sh: $*" >&2
  exit 1
}
[ $# -eq 5 ] || die "usage: write-bios-boot.sh DISK BOOT_IMG CORE_IMG CORE_LBA MAX_SECTORS"
disk=$1 boot_img=$2 core_img=$3 core_lba=$4 max_sectors=$5

# Offsets in GRUB's i386-pc boot sector (boot.S) and diskboot sector.
BPB_END=0x5a           # the BIOS parameter block ends here; code resumes
KERNEL_SECTOR=0x5c     # 64-bit LBA of the core image's first sector
BOOT_DRIVE=0x64        # 0xff: use the drive the BIOS booted from (%dl)
DRIVE_CHECK=0x66       # a jmp grub-setup turns into two nops on hard disks
PART_START=0x1b8       # disk signature and partition table: kept
BLOCKLIST=0x1f4        # diskboot's last block list entry: start, length, segment
CORE_SEGMENT=0x820     # where diskboot loads the rest of the core image

[ "$(stat -c %s "$boot_img")" -eq 512 ] || die "$boot_img is not a 512-byte boot sector"
size=$(stat -c %s "$core_img")
sectors=$(((size + 511) / 512))
[ "$sectors" -le "$max_sectors" ] || die "$core_img needs $sectors sectors; the BIOS boot partition has $max_sectors"
[ "$sectors" -ge 2 ] || die "$core_img is too small to be a GRUB core image"

# A little-endian integer of $2 bytes as printf escapes.
le() {
  local v=$1 n=$2 s="" i
  for ((i = 0; i < n; i++)); do
    s+=$(printf '\\%03o' $(((v >> (8 * i)) & 255)))
  done
  printf '%s' "$s"
}
put() { # put OFFSET ESCAPES: write bytes into the disk at OFFSET
  # shellcheck disable=SC2059 # the escapes are the format
  printf "$2" | dd of="$disk" bs=1 seek=$(($1)) conv=notrunc status=none
}
copy() { # copy FROM_FILE OFFSET COUNT: the same bytes of FROM_FILE into the disk
  dd if="$1" of="$disk" bs=1 skip=$(($2)) seek=$(($2)) count=$(($3)) conv=notrunc status=none
}

dd if="$core_img" of="$disk" bs=512 seek="$core_lba" conv=notrunc status=none
put $((core_lba * 512 + BLOCKLIST)) "$(le $((core_lba + 1)) 8)$(le $((sectors - 1)) 2)$(le $((CORE_SEGMENT)) 2)"

copy "$boot_img" 0 3
copy "$boot_img" $BPB_END $((PART_START - BPB_END))
put $KERNEL_SECTOR "$(le "$core_lba" 8)"
put $BOOT_DRIVE '\377'
put $DRIVE_CHECK '\220\220'
