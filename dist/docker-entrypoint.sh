#!/bin/sh
# The image's entrypoint: runs `impuls "$@"`. For the sandbox (any command but
# `serve --isolation process` or `--isolation=process`), the cgroups the daemon writes are made
# writable first: it makes one cgroup per instance below the container's own,
# and Docker mounts a container's cgroups read-only (read-write only with
# --privileged, which gives every capability and device too). Remounting needs
# CAP_SYS_ADMIN, which the sandbox needs anyway (compose.yaml, docs/docker.md).
set -eu

rw() { # remount one cgroup mount read-write, if it is a read-only one
  if grep -Eq "^[^ ]+ $1 cgroup2? ro," /proc/mounts; then
    mount -o remount,rw,bind "$1" || {
      echo "impuls-entrypoint: cannot remount $1 read-write: the container needs cap_add SYS_ADMIN" \
           "(and AppArmor unconfined where it is on): see compose.yaml" >&2
      exit 1
    }
  fi
}

# The isolation the daemon will use: the last --isolation given, in either of
# getopt_long's forms (`--isolation process`, `--isolation=process`), as the
# daemon reads it. Anything else (an abbreviation such as `--iso process`
# included) counts as the sandbox: the remount is then tried, never skipped.
isolation=namespace
expect=
for a in "$@"; do
  if [ -n "$expect" ]; then isolation=$a; expect=; continue; fi
  case $a in
  --isolation) expect=1 ;;
  --isolation=*) isolation=${a#--isolation=} ;;
  --) break ;;
  esac
done

case $isolation in
process) ;;
*)
  if grep -Eq "^[^ ]+ /sys/fs/cgroup cgroup2 " /proc/mounts; then
    # cgroup v2 (not tried on this project's machines): one tree, and a cgroup
    # with processes cannot enable controllers for its children, so move every
    # process of the container's root cgroup into a leaf first (as moby's dind does).
    rw /sys/fs/cgroup
    mkdir -p /sys/fs/cgroup/init
    xargs -rn1 < /sys/fs/cgroup/cgroup.procs > /sys/fs/cgroup/init/cgroup.procs 2>/dev/null || true
  else
    # cgroup v1: only the controllers the daemon uses (src/sandbox/cgroup.c).
    # Not devices: writing there would let the container widen its own device access.
    for c in memory pids cpu; do rw "$(readlink -f /sys/fs/cgroup/$c)"; done
  fi
  ;;
esac
exec /usr/local/bin/impuls "$@"
