#!/bin/sh
# Installs the Debian packages the qemu driver and its VM tests need: qemu
# (system emulator and qemu-img), the OpenSSH client `driverplug ssh` runs
# (and ssh-keygen for machine keys), and genisoimage, which makes the
# cloud-init seeds of disk-image bundles (and whose isoinfo the tests read them with).
# The test guest itself is built by `make guest` and needs nothing installed.
set -eu

PACKAGES="qemu-system-x86 qemu-utils openssh-client genisoimage"

# shellcheck source=scripts/apt-packages.sh
. "$(dirname "$0")/apt-packages.sh"
apt_install install-qemu-deps.sh "$PACKAGES" "install qemu-system-x86_64, qemu-img and ssh by hand"
apt_require_tools install-qemu-deps.sh "$PACKAGES" qemu-system-x86_64 qemu-img ssh ssh-keygen
