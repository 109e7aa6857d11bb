#!/bin/sh
# The microVM guest's runtimes disk, a squashfs of what the guest mounts at
# /usr: Node and Python from this machine (Debian's, as the namespace
# sandbox binds them), every shared library they and Python's extension
# modules load, Python's standard library (without its tests), the shell
# and tools a custom runtime's bootstrap script uses (TOOLS: Lambda's
# tutorial bootstrap is sh and curl), and the tree's runtimes/ (nodejs,
# python, http) at lib/impuls/runtime. Remade only when an input changed.
# Usage: sh scripts/microvm-runtimes.sh OUT.img
set -eu
cd "$(dirname "$0")/.."
img=$1
py=$(readlink -f /usr/bin/python3)
pylib=/usr/lib/$(basename "$py")
TOOLS="sh dash bash cat cp mv rm ln mkdir rmdir ls echo printf env sed grep tr head tail cut sleep date wc sort
  uniq tee true false test basename dirname id uname mktemp stat touch chmod readlink realpath xargs find awk curl jq"
tools=$(for t in $TOOLS; do [ -x "/usr/bin/$t" ] && echo "/usr/bin/$t"; done)
stamp=$( (ls -lL --time-style=+%s /usr/bin/node "$py" $tools; find runtimes/nodejs runtimes/python runtimes/http \
  scripts/microvm-runtimes.sh -type f ! -path '*__pycache__*' | LC_ALL=C sort | xargs cksum) | cksum | cut -d' ' -f1)
[ -f "$img" ] && [ "$(cat "$img.stamp" 2>/dev/null)" = "$stamp" ] && exit 0

stage="$img.d"
rm -rf "$stage" "$img" "$img.stamp"
mkdir -p "$stage/bin" "$stage/lib64" "$stage/lib/impuls/runtime"
# put PATH: a file of the host's /usr (or a /lib, /lib64 path, which is
# /usr's on a merged-/usr system) at the same place under the disk's root.
put() {
  rel=${1#/usr/}
  rel=${rel#/}
  mkdir -p "$stage/$(dirname "$rel")"
  cp -L "$1" "$stage/$rel"
}
put /usr/bin/node
put "$py"
ln -s "$(basename "$py")" "$stage/bin/python3"
for t in $tools; do put "$t"; done
tar -C "$pylib" --exclude=test --exclude=idlelib --exclude=tkinter --exclude=turtledemo -cf - . \
  | (mkdir -p "$stage/lib/$(basename "$py")" && tar -C "$stage/lib/$(basename "$py")" -xf -)
# The shared libraries: what ldd names for each executable and extension.
for f in /usr/bin/node "$py" "$pylib"/lib-dynload/*.so $tools; do
  ldd "$f" 2>/dev/null | awk '/=> \// {print $3} /^[[:space:]]*\/[^ ]*ld-linux/ {print $1}'
done | LC_ALL=C sort -u | while read -r lib; do put "$lib"; done
for r in nodejs python http; do
  cp -r "runtimes/$r" "$stage/lib/impuls/runtime/$r"
done
find "$stage" -name __pycache__ -path '*/impuls/runtime/*' -prune -exec rm -rf {} +
mksquashfs "$stage" "$img.tmp" -noappend -quiet -no-progress -all-root -noI -noD -noF -noX >/dev/null
rm -rf "$stage"
mv "$img.tmp" "$img"
echo "$stamp" > "$img.stamp"
