#!/bin/sh
# Debian's kernel for the microVM guest: OUT/vmlinuz, OUT/release (its
# uname -r), and for each module named after OUT, its .ko and those
# it depends on in OUT/modules/ with OUT/modules/order listing them
# dependencies first (what the guest's init loads). Downloaded once from
# Debian's archive (apt-get download) and kept in OUT.
# Usage: sh scripts/debian-kernel.sh OUT [MODULE...]
set -eu
out=$1
shift
mkdir -p "$out"
stamp="$out/.modules-$(echo "$*" | cksum | cut -d' ' -f1)"
[ -f "$out/vmlinuz" ] && [ -f "$out/release" ] && [ -f "$stamp" ] && exit 0

pkgs="$out/pkgs"
rm -rf "$pkgs" "$out/modules" "$out"/.modules-*
mkdir -p "$pkgs" "$out/modules"
kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
(cd "$pkgs" && apt-get download -qq "$kpkg" 2>/dev/null)
dpkg-deb -x "$pkgs"/linux-image-*.deb "$pkgs/k"
cp "$pkgs"/k/boot/vmlinuz-* "$out/vmlinuz"
tree=$(echo "$pkgs"/k/lib/modules/*)
basename "$tree" > "$out/release" # what uname -r says in the guest

# find NAME: the .ko of a module (names use - and _ alike).
find_ko() {
  find "$tree/kernel" -name "$(echo "$1" | tr _ -).ko" -o -name "$(echo "$1" | tr - _).ko" | head -n 1
}
# add NAME: its dependencies, then itself, once each.
add() {
  grep -qx "$1.ko" "$out/modules/order" 2>/dev/null && return 0
  ko=$(find_ko "$1")
  [ -n "$ko" ] || { echo "debian-kernel: no module $1 in $kpkg" >&2; exit 1; }
  # The module's own record of what it needs (its .modinfo "depends=").
  for dep in $(tr '\0' '\n' < "$ko" | sed -n 's/^depends=//p' | tr , ' '); do add "$dep"; done
  ko=$(find_ko "$1")
  cp "$ko" "$out/modules/$1.ko"
  echo "$1.ko" >> "$out/modules/order"
}
: > "$out/modules/order"
for m in "$@"; do add "$m"; done
rm -rf "$pkgs"
touch "$stamp"
