#!/bin/sh
# Installs the Debian packages the libvirt driver and its tests need: the
# monolithic libvirtd with its QEMU driver (the -sysv package keeps systemd
# out: nothing here runs an init system, the tests start their own daemons),
# virsh and virt-ssh-helper (libvirt-clients), dnsmasq and iproute2 for
# libvirt's NAT networks, OpenSSH's server for the remote (qemu+ssh) tests,
# and tini, the child reaper the daemons the driver and the tests start run
# under (where PID 1 reaps orphans late, libvirt waits about 2 s on every
# domain that stops for its QEMU to be reaped).
set -eu

PACKAGES="libvirt-daemon-system-sysv libvirt-daemon-system libvirt-clients dnsmasq-base iproute2 openssh-server openssh-client tini"

# shellcheck source=scripts/apt-packages.sh
. "$(dirname "$0")/apt-packages.sh"
apt_install install-libvirt-deps.sh "$PACKAGES" "install libvirtd (with its QEMU driver), virsh, virt-ssh-helper and sshd by hand" no-daemons
apt_require_tools install-libvirt-deps.sh "$PACKAGES" libvirtd virtlogd virsh virt-ssh-helper sshd ssh ssh-keygen
