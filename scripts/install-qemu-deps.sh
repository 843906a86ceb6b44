#!/bin/sh
# Installs the Debian packages the qemu driver and its VM tests need: qemu
# (system emulator and qemu-img), the OpenSSH client `driverplug ssh` runs
# (and ssh-keygen for machine keys), and genisoimage, which makes the
# cloud-init seeds of disk-image bundles (and whose isoinfo the tests read them with).
# The test guest itself is built by `make guest` and needs nothing installed.
# Idempotent: when every package is installed it prints nothing and never
# calls apt. Needs root (or sudo) only when something is missing.
set -eu

PACKAGES="qemu-system-x86 qemu-utils openssh-client genisoimage"

missing=""
for pkg in $PACKAGES; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-qemu-deps.sh: these packages are missing and apt-get is not available:$missing" >&2
    echo "install-qemu-deps.sh: install qemu-system-x86_64, qemu-img and ssh by hand" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-qemu-deps.sh: run as root to install:$missing" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "install-qemu-deps.sh: installing:$missing" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2086 # the package list is meant to split into words
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi

for tool in qemu-system-x86_64 qemu-img ssh ssh-keygen; do
  command -v "$tool" >/dev/null 2>&1 || { echo "install-qemu-deps.sh: '$tool' is still missing after installing$PACKAGES" >&2; exit 1; }
done
