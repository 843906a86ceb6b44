#!/usr/bin/env bash
# The Debian image's own files and settings, in two steps around mmdebstrap's
# package installation.
#
# pre (mmdebstrap's essential hook, before the packages but the Essential set
# are installed): the files of rootfs/ (and rootfs-tuned/ for the tuned
# image) and /etc/fstab, which the packages' scripts must already see; the
# initramfs above all (its module list, and fsck for the root file system).
#
# post (after mmdebstrap, before the tree becomes ext4): no identity of its
# own (SSH host keys, machine-id: each machine makes its own on first boot),
# the GRUB menu for the root file system's UUID, DHCP by systemd-networkd,
# and for the tuned image the units a headless VM does not need masked.
#
# Usage: customize.sh pre|post ROOT TUNING ROOT_UUID RECIPE_DIR
set -euo pipefail
step=$1 root=$2 tuning=$3 root_uuid=$4 here=$5

if [ "$step" = pre ]; then
  cp -a "$here/rootfs/." "$root/"
  [ "$tuning" = tuned ] && cp -a "$here/rootfs-tuned/." "$root/"
  # cloud-init writes this file with these rights; git keeps no modes but x.
  chmod 600 "$root/etc/ssh/sshd_config.d/50-cloud-init.conf"
  options=rw,discard,errors=remount-ro
  # The tuned image grows the file system with systemd (etc/repart.d).
  [ "$tuning" = tuned ] && options=$options,x-systemd.growfs
  echo "UUID=$root_uuid / ext4 $options 0 1" >"$root/etc/fstab"
  exit 0
fi
[ "$step" = post ] || { echo "customize.sh: the step is '$step'; it must be pre or post" >&2; exit 1; }

rm -f "$root"/etc/ssh/ssh_host_*
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root/var/lib/systemd/random-seed" "$root/var/lib/systemd/credential.secret"
ln -s /etc/machine-id "$root/var/lib/dbus/machine-id"
echo debian >"$root/etc/hostname"
cat >"$root/etc/hosts" <<HOSTS
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters
HOSTS
cmdline="console=tty0 console=ttyS0,115200"
timeout=5
if [ "$tuning" = tuned ]; then
  timeout=0
fi
mkdir -p "$root/boot/grub"
sed -e "s/@ROOT_UUID@/$root_uuid/g" -e "s/@TIMEOUT@/$timeout/g" -e "s|@CMDLINE@|$cmdline|g" \
  "$here/grub/grub.cfg" >"$root/boot/grub/grub.cfg"

systemctl --root="$root" --quiet enable systemd-networkd.service systemd-resolved.service

if [ "$tuning" = tuned ]; then
  # Work a headless test VM does not need, which would compete with its boot
  # or its tests for two emulated CPUs: apt's daily update and upgrade, the
  # dpkg database backup, ext4 scrubbing and trimming, binfmt_misc, and the
  # DRM module logind asks for (no display).
  systemctl --root="$root" --quiet mask apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
    e2scrub_all.timer e2scrub_reap.service fstrim.timer \
    systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount \
    modprobe@drm.service
  # cloud-init's "config" stage is one Python start-up (10-15 s under TCG)
  # for a handful of modules: the tuned cloud.cfg.d runs them in the final
  # stage instead, and the stage's unit is masked.
  systemctl --root="$root" --quiet mask cloud-config.service
fi

# What the build left behind.
find "$root/var/log" -type f -exec truncate -s 0 {} +
rm -f "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
