#!/bin/sh
# Installs the Debian packages the interop tests (test/interop) need: Go with
# go-plugin and grpc-go sources for the Go host (built offline in GOPATH
# mode), protoc with the Go and Python generators, and Python's grpcio,
# protobuf and cryptography for the Python host and plugin.
set -eu

PACKAGES="golang-go golang-github-hashicorp-go-plugin-dev golang-google-grpc-dev golang-goprotobuf-dev
golang-google-genproto-dev golang-golang-x-net-dev protobuf-compiler protobuf-compiler-grpc
python3 python3-grpcio python3-protobuf python3-cryptography"

# shellcheck source=scripts/apt-packages.sh
. "$(dirname "$0")/../../scripts/apt-packages.sh"
apt_install install-deps.sh "$PACKAGES" "install their equivalents by hand (see the list at the top of this script)"
