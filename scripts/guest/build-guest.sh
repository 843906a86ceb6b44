#!/usr/bin/env bash
# `make guest`: builds the qemu driver's test guest bundle (a kernel, an
# initramfs and bundle.json) from Debian packages, without installing them:
# `apt-get download` + `dpkg-deb -x`. The bundle goes into a cache directory
# named by a key over the package versions and the guest's own files, so it is
# rebuilt only when one of them changes. The bundle's path is the last line of
# standard output; progress goes to standard error.
#
# A shell script rather than a node one: the work is running apt-get,
# dpkg-deb, ldd and busybox, and it must run before `npm ci` on a fresh clone.
#
# Environment:
#   DRIVERPLUG_GUEST_CACHE  the cache directory
#                           (default ${XDG_CACHE_HOME:-~/.cache}/driverplug/guest)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${DRIVERPLUG_GUEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/driverplug/guest}
# What the guest's init loads; 9p only the generic kernel has.
wanted_modules="virtio_pci virtio_net virtio_blk virtio_console button evdev 9pnet_virtio 9p"

log() { echo "make guest: $*" >&2; }
die() {
  echo "make guest: $*" >&2
  exit 1
}

for tool in apt-cache apt-get dpkg-deb dpkg-query ldd gzip sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing: this script needs a Debian (or derived) host with apt"
done

# The package versions apt would download now.
candidate() {
  local v
  v=$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p')
  [ -n "$v" ] && [ "$v" != "(none)" ] || die "no candidate version of Debian package '$1' (run apt-get update?)"
  echo "$v"
}
kernel_pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/^ *Depends: *\(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n 1)
[ -n "$kernel_pkg" ] || die "apt-cache depends linux-image-cloud-amd64 names no versioned kernel (run apt-get update?)"
kver=${kernel_pkg#linux-image-}
packages="$kernel_pkg busybox-static dropbear-bin libtomcrypt1 libtommath1"
pinned=""
for p in $packages; do pinned="$pinned $p=$(candidate "$p")"; done
# dropbear links against these host libraries, copied into the initramfs.
hostlibs=""
for p in libc6 libcrypt1 zlib1g libgmp10; do
  hostlibs="$hostlibs $p=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo none)"
done
files_sum=$(cd "$here" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-64)
key_sum=$(printf '%s\n' "$pinned" "$hostlibs" "$files_sum" | sha256sum | cut -c1-12)
key="$kver-$key_sum"
bundle="$cache/$key"

if [ -f "$bundle/bundle.json" ]; then
  log "up to date ($pinned )"
  echo "$bundle"
  exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/.build-XXXXXX")
trap 'rm -rf "$work"' EXIT
log "building $key from$pinned"

# apt-get download writes into the current directory; its sandbox user may not
# read a private temp dir, which is only a warning, so it is silenced.
(cd "$work" && apt-get download -q -o APT::Sandbox::User=root $pinned >/dev/null 2>"$work/apt.err") ||
  {
    cat "$work/apt.err" >&2
    die "apt-get download failed"
  }
pkgroot="$work/pkgs"
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$pkgroot"; done
busybox="$pkgroot/bin/busybox"
[ -x "$busybox" ] || die "busybox-static did not provide bin/busybox"
[ -f "$pkgroot/boot/vmlinuz-$kver" ] || die "$kernel_pkg did not provide boot/vmlinuz-$kver"

# The initramfs tree.
root="$work/root"
mkdir -p "$root"/{bin,dev,etc,lib,lib64,proc,sys,run,tmp,usr/bin,usr/sbin,var}
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
ln -s bin "$root/sbin"
ln -s bin/busybox "$root/init"
cp -R "$here/rootfs/." "$root/"

for exe in usr/sbin/dropbear usr/bin/dropbearkey; do
  cp "$pkgroot/$exe" "$root/$exe"
  # ldd prints "name => /path (addr)" or "/path (addr)"; every path is copied
  # to the same place in the guest.
  LD_LIBRARY_PATH="$pkgroot/usr/lib/x86_64-linux-gnu" ldd "$pkgroot/$exe" |
    awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' |
    while read -r lib; do
      case "$lib" in
      "$pkgroot"/*) dest="${lib#"$pkgroot"}" ;;
      *) dest="$lib" ;;
      esac
      mkdir -p "$root$(dirname "$dest")"
      cp -L "$lib" "$root$dest"
    done
done

# Kernel modules: the wanted ones that are modules, with their dependencies.
moddir="lib/modules/$kver"
"$busybox" depmod -b "$pkgroot" "$kver"
mkdir -p "$root/etc/driverplug" "$root/$moddir"
: >"$root/etc/driverplug/modules"
status=""
for m in $wanted_modules; do
  file=$(sed -n "s|^\(kernel/.*/$m\.ko[.a-z]*\):.*|\1|p" "$pkgroot/$moddir/modules.dep" | head -n 1)
  if [ -n "$file" ]; then
    echo "$m" >>"$root/etc/driverplug/modules"
    for f in $file $(sed -n "s|^$file: *||p" "$pkgroot/$moddir/modules.dep"); do
      mkdir -p "$root/$moddir/$(dirname "$f")"
      cp "$pkgroot/$moddir/$f" "$root/$moddir/$f"
    done
    status="$status $m=module"
  elif grep -q "/$m\.ko" "$pkgroot/$moddir/modules.builtin"; then
    status="$status $m=builtin"
  else
    status="$status $m=absent"
  fi
done
cp "$pkgroot/$moddir/modules.builtin" "$pkgroot/$moddir/modules.order" "$root/$moddir/"
"$busybox" depmod -b "$root" "$kver"
log "modules:$status"
case "$status" in
*" 9p=absent"* | *" 9pnet_virtio=absent"*) ninep=false ;;
*) ninep=true ;;
esac

out="$work/bundle"
mkdir -p "$out"
cp "$pkgroot/boot/vmlinuz-$kver" "$out/vmlinuz"
(cd "$root" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc 2>/dev/null) | gzip -1 >"$out/initrd.img"
cat >"$out/bundle.json" <<EOF
{
  "name": "driverplug-test-guest",
  "version": "$key",
  "kernel": "vmlinuz",
  "initrd": "initrd.img",
  "cmdline": "console=ttyS0 quiet panic=-1",
  "sshUser": "root",
  "readiness": "virtio-serial",
  "sshChannel": "virtio-serial"
}
EOF
cat >"$out/README" <<EOF
driverplug test guest $key, made by \`make guest\` (scripts/guest/build-guest.sh).
Packages:$pinned
Host libraries:$hostlibs
Kernel modules:$status
9p shared directories: $([ "$ninep" = true ] && echo works || echo "do not work (the kernel has no 9p)")
EOF

# Another build may have finished first: its bundle is as good as this one.
if ! mv -T "$out" "$bundle" 2>/dev/null; then
  [ -f "$bundle/bundle.json" ] || die "could not move the bundle to $bundle"
fi
log "initrd $(du -k "$bundle/initrd.img" | cut -f1) KiB, kernel $(du -k "$bundle/vmlinuz" | cut -f1) KiB"
echo "$bundle"
