#!/bin/sh
# Builds the Docker base image of Impuls's image (Dockerfile) from Debian's
# packages, since no image registry may be reachable: debootstrap into a
# directory, tar it (cached in build/docker/, keyed on the package list and
# the suite), then `docker import` it as $IMPULS_BASE_IMAGE (impuls-base).
# Run `make build` first: the libraries come from what build/impuls loads.
#
#   sh scripts/docker-base.sh            # build or reuse, then import if missing
#   sh scripts/docker-base.sh --check    # only: can the base be had? exit 0 if
#                                        # cached or the mirror answers, 3 if not
#   IMPULS_BASE_IMAGE=x sh scripts/...   # another tag (the tests use their own)
#   IMPULS_DEBIAN_MIRROR=URL             # else the host's apt sources' first Debian URI
#   IMPULS_DEBIAN_SUITE=bookworm         # else the host's VERSION_CODENAME
#   DOCKER=/usr/bin/docker               # the client (default: Debian's, if present)
#   DOCKER_HOST=unix:///path/docker.sock # the daemon to import into (docker's own variable)
#
# Exit status 3: the base is not cached and the mirror cannot be reached (the
# reason on stderr); anything else non-zero is a real failure.
set -eu
cd "$(dirname "$0")/.."

check_only=
case "${1:-}" in
--check) check_only=1 ;;
"") ;;
*) echo "usage: sh scripts/docker-base.sh [--check]" >&2; exit 2 ;;
esac

# The daemon's runtime libraries: for each shared library that the built
# daemon and its zygote library load (ldd: the Makefile's PKGS and what they
# pull in), the Debian package that provides it on this host. The image runs
# this very binary, so it needs the same libraries: the host's names are the
# names in the host's suite (libssl3, libevent-2.1-7, ... on bookworm;
# whatever they are called in another release). Then the runtimes'
# interpreters, and curl for the compose healthcheck.
libs=
for bin in build/impuls build/libimpuls-zygote.so; do
  [ -f "$bin" ] || { echo "docker-base: $bin missing: run \`make build\` first" >&2; exit 1; }
  missing=$(ldd "$bin" | awk '$2 == "=>" && $3 == "not" { print $1 }')
  [ -z "$missing" ] || { echo "docker-base: $bin: libraries not found: $missing" >&2; exit 1; }
  libs="$libs $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')"
done
# ldd may name a library under /lib while dpkg knows it under /usr/lib (or the
# reverse, merged /usr or not), or by a symlink: ask dpkg about every spelling
# at once (one read of its database), then take each library's first match.
# shellcheck disable=SC2086
libs=$(printf '%s\n' $libs | sort -u)
spellings() { for p in "$1" "$(readlink -f "$1")"; do printf '%s\n' "$p" "/usr$p" "${p#/usr}"; done; }
# shellcheck disable=SC2046
owners=$(dpkg -S $(for lib in $libs; do spellings "$lib"; done | sort -u) 2>/dev/null || true)
lib_pkgs=
for lib in $libs; do
  pkg=$(for q in $(spellings "$lib"); do
          printf '%s\n' "$owners" | awk -F': ' -v q="$q" \
            '!/^diversion / && $2 == q { split($1, a, ", "); sub(/:.*/, "", a[1]); print a[1] }'
        done | head -n 1)
  [ -n "$pkg" ] || { echo "docker-base: no Debian package of this host provides $lib (dpkg -S)" >&2; exit 1; }
  lib_pkgs="$lib_pkgs $pkg"
done
# shellcheck disable=SC2086 # split into words on purpose
PACKAGES="$(printf '%s\n' $lib_pkgs | sort -u | tr '\n' ' ')nodejs python3 curl ca-certificates"

image=${IMPULS_BASE_IMAGE:-impuls-base}
if [ -z "${DOCKER:-}" ]; then
  # Debian's client matches Debian's dockerd; another one earlier on PATH may not.
  if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
fi

# shellcheck disable=SC1091
host_suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
suite=${IMPULS_DEBIAN_SUITE:-$host_suite}
[ -n "$suite" ] || { echo "docker-base: set IMPULS_DEBIAN_SUITE" >&2; exit 1; }
if [ "$suite" != "$host_suite" ]; then
  echo "docker-base: warning: suite $suite, host ${host_suite:-unknown}: the library names are this host's," \
       "and the image runs the binary built here; both hold only where the two releases agree" >&2
fi

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
mirror=${mirror%/}

# The cache key: what the tarball holds, not where it came from.
# shellcheck disable=SC2086 # the list is split into words on purpose
key=$(printf '%s\n' "$suite" $PACKAGES | sha256sum | cut -c1-12)
out=build/docker
tarball="$out/base-$suite-$key.tar"

if [ -f "$tarball" ]; then
  [ -z "$check_only" ] || { echo "docker-base: cached $tarball"; exit 0; }
else
  # debootstrap needs the mirror: ask it for the suite's Release file, as
  # debootstrap's first step does, within a bounded time. Exit 3 if it does not
  # answer, so that a caller (tests/docker) can tell "cannot be had here" from a
  # failure.
  [ -n "$mirror" ] || { echo "docker-base: no $suite source in /etc/apt and no cached $tarball; set IMPULS_DEBIAN_MIRROR" >&2; exit 3; }
  command -v curl >/dev/null || { echo "docker-base: curl is needed to probe the mirror $mirror" >&2; exit 1; }
  if ! err=$(curl -fsSL -o /dev/null --connect-timeout 10 --max-time 30 "$mirror/dists/$suite/Release" 2>&1); then
    echo "docker-base: the Debian mirror cannot be reached: $mirror/dists/$suite/Release:" \
         "${err:-no answer} (curl, at most 30 s), and no cached $tarball to use instead;" \
         "set IMPULS_DEBIAN_MIRROR to a reachable one" >&2
    exit 3
  fi
  [ -z "$check_only" ] || { echo "docker-base: $mirror serves $suite (to debootstrap: $PACKAGES)"; exit 0; }
  mkdir -p "$out"
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
