# Sourced by the install-*-deps.sh scripts: installs the Debian packages a
# script names when any is missing, then checks the tools it needs are there.
# Idempotent: when every package is installed it prints nothing and never
# calls apt. Needs root (or sudo) only when something is missing.
#
#   apt_install NAME "PACKAGES" "what to do without apt" [no-daemons]
#   apt_require_tools NAME "PACKAGES" TOOL...
#
# With no-daemons, the packages' maintainer scripts are kept from starting
# services through the init system (policy-rc.d answering 101), so nothing
# is left running that the tests did not start themselves.

apt_install() {
  name=$1 packages=$2 hint=$3 no_daemons=${4:-}
  missing=""
  for pkg in $packages; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing="$missing $pkg"
  done
  [ -n "$missing" ] || return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$name: these packages are missing and apt-get is not available:$missing" >&2
    echo "$name: $hint" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "$name: run as root to install:$missing" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "$name: installing:$missing" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  policy=/usr/sbin/policy-rc.d
  added_policy=""
  if [ -n "$no_daemons" ] && [ ! -e "$policy" ] && [ -z "$sudo" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && added_policy=1
  fi
  # shellcheck disable=SC2086 # the package list is meant to split into words
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing || {
    [ -n "$added_policy" ] && rm -f "$policy"
    exit 1
  }
  if [ -n "$added_policy" ]; then rm -f "$policy"; fi
}

apt_require_tools() {
  name=$1 packages=$2
  shift 2
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || [ -x "/usr/bin/$tool" ] || [ -x "/usr/lib/libvirt/$tool" ] ||
      { echo "$name: '$tool' is still missing after installing $packages" >&2; exit 1; }
  done
}
