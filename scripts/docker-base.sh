#!/bin/sh
# Builds the Docker base image of Impuls's image (Dockerfile) from Debian's
# packages, since no image registry may be reachable: debootstrap into a
# directory, tar it (cached in build/docker/, keyed on the package list and
# the suite), then `docker import` it as $IMPULS_BASE_IMAGE (impuls-base).
#
#   sh scripts/docker-base.sh            # build or reuse, then import if missing
#   IMPULS_BASE_IMAGE=x sh scripts/...   # another tag (the tests use their own)
#   IMPULS_DEBIAN_MIRROR=URL             # else the host's apt sources' first Debian URI
#   IMPULS_DEBIAN_SUITE=bookworm         # else the host's VERSION_CODENAME
#   DOCKER=/usr/bin/docker               # the client (default: Debian's, if present)
set -eu
cd "$(dirname "$0")/.."

# The daemon's runtime libraries (the Makefile's PKGS, as Debian names them),
# the runtimes' interpreters, and curl for the compose healthcheck.
PACKAGES="libevent-2.1-7 libevent-openssl-2.1-7 libjansson4 libsqlite3-0 libseccomp2
libarchive13 libnettle8 libssl3 nodejs python3 curl ca-certificates"

image=${IMPULS_BASE_IMAGE:-impuls-base}
if [ -z "${DOCKER:-}" ]; then
  # Debian's client matches Debian's dockerd; another one earlier on PATH may not.
  if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
fi

# shellcheck disable=SC1091
suite=${IMPULS_DEBIAN_SUITE:-$(. /etc/os-release && echo "${VERSION_CODENAME:-}")}
[ -n "$suite" ] || { echo "docker-base: set IMPULS_DEBIAN_SUITE" >&2; exit 1; }

# The host's Debian mirror: the first URI of a .sources file (deb822) or the
# first `deb` line of sources.list whose suite is $suite.
host_mirror() {
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v s="$suite" '
      function out() { if (u != "" && ok && t) { print u; u = "" } }
      /^[ \t]*$/ { out(); u = ""; ok = 0; t = 0; next }
      /^Types:/  { t = ($0 ~ /[ \t]deb([ \t]|$)/) }
      /^URIs:/   { u = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) ok = 1 }
      END        { out() }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [options] URI suite components...
    awk -v s="$suite" '$1 == "deb" { sub(/\[[^]]*\][ \t]*/, ""); if ($3 == s) print $2 }' "$f"
  done
}
mirror=${IMPULS_DEBIAN_MIRROR:-$(host_mirror | head -n 1)}
[ -n "$mirror" ] || { echo "docker-base: no $suite source in /etc/apt; set IMPULS_DEBIAN_MIRROR" >&2; exit 1; }

# The cache key: what the tarball holds, not where it came from.
# shellcheck disable=SC2086 # the list is split into words on purpose
key=$(printf '%s\n' "$suite" $PACKAGES | sha256sum | cut -c1-12)
out=build/docker
tarball="$out/base-$suite-$key.tar"
mkdir -p "$out"

if [ ! -f "$tarball" ]; then
  command -v debootstrap >/dev/null || sh scripts/deps.sh debootstrap
  root="$out/rootfs"
  rm -rf "$root"
  echo "docker-base: debootstrap $suite from $mirror (a few minutes, once)"
  # minbase: no init system, no apt recommends; the daemon needs neither.
  # shellcheck disable=SC2086
  debootstrap --variant=minbase --include="$(echo $PACKAGES | tr ' ' ',')" \
    "$suite" "$root" "$mirror" > "$out/debootstrap.log" 2>&1 \
    || { tail -n 20 "$out/debootstrap.log" >&2; exit 1; }
  # What an image does not need: apt's lists and caches, docs, man pages.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
         "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
  tar -C "$root" --numeric-owner -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$root"
fi

# Import unless the tag already holds this very tarball (its key as a label).
have=$($DOCKER image inspect -f '{{ index .Config.Labels "impuls.base-key" }}' "$image" 2>/dev/null || true)
if [ "$have" != "$key" ]; then
  $DOCKER import -c "LABEL impuls.base-key=$key" -c 'ENV LANG=C.UTF-8' "$tarball" "$image" >/dev/null
  echo "docker-base: imported $tarball as $image"
fi
