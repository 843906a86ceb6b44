#!/bin/sh
# Installs the Debian packages the interop tests (test/interop) need: Go with
# go-plugin and grpc-go sources for the Go host (built offline in GOPATH
# mode), protoc with the Go and Python generators, and Python's grpcio,
# protobuf and cryptography for the Python host and plugin.
# Idempotent: when every package is installed it prints nothing and never
# calls apt. Needs root (or sudo) only when something is missing.
set -eu

PACKAGES="golang-go golang-github-hashicorp-go-plugin-dev golang-google-grpc-dev golang-goprotobuf-dev
golang-google-genproto-dev golang-golang-x-net-dev protobuf-compiler protobuf-compiler-grpc
python3 python3-grpcio python3-protobuf python3-cryptography"

missing=""
for pkg in $PACKAGES; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps.sh: these packages are missing and apt-get is not available:$missing" >&2
  echo "install-deps.sh: install their equivalents by hand (see the list at the top of this script)" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps.sh: run as root to install:$missing" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps.sh: installing:$missing" >&2
# shellcheck disable=SC2086 # the package list is meant to split into words
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
