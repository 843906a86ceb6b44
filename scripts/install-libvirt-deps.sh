#!/bin/sh
# Installs the Debian packages the libvirt driver and its tests need: the
# monolithic libvirtd with its QEMU driver (the -sysv package keeps systemd
# out: nothing here runs an init system, the tests start their own daemons),
# virsh and virt-ssh-helper (libvirt-clients), dnsmasq and iproute2 for
# libvirt's NAT networks, OpenSSH's server for the remote (qemu+ssh) tests,
# and tini, the child reaper the daemons the driver and the tests start run
# under (where PID 1 reaps orphans late, libvirt waits about 2 s on every
# domain that stops for its QEMU to be reaped).
# Idempotent: when every package is installed it prints nothing and never
# calls apt. Needs root (or sudo) only when something is missing.
set -eu

PACKAGES="libvirt-daemon-system-sysv libvirt-daemon-system libvirt-clients dnsmasq-base iproute2 openssh-server openssh-client tini"

missing=""
for pkg in $PACKAGES; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-libvirt-deps.sh: these packages are missing and apt-get is not available:$missing" >&2
    echo "install-libvirt-deps.sh: install libvirtd (with its QEMU driver), virsh, virt-ssh-helper and sshd by hand" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-libvirt-deps.sh: run as root to install:$missing" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "install-libvirt-deps.sh: installing:$missing" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # The packages' maintainer scripts would start daemons through the init
  # system; policy-rc.d's 101 tells invoke-rc.d not to, so nothing is left
  # running that the tests did not start themselves.
  policy=/usr/sbin/policy-rc.d
  added_policy=""
  if [ ! -e "$policy" ] && [ -z "$sudo" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && added_policy=1
  fi
  # shellcheck disable=SC2086 # the package list is meant to split into words
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing || {
    [ -n "$added_policy" ] && rm -f "$policy"
    exit 1
  }
  [ -n "$added_policy" ] && rm -f "$policy"
fi

for tool in libvirtd virtlogd virsh virt-ssh-helper sshd ssh ssh-keygen; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || [ -x "/usr/bin/$tool" ] || [ -x "/usr/lib/libvirt/$tool" ] ||
    { echo "install-libvirt-deps.sh: '$tool' is still missing after installing $PACKAGES" >&2; exit 1; }
done
