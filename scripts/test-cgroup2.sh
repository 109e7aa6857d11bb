#!/bin/sh
# make test-cgroup2: the sandbox on a pure cgroup v2 kernel. Boots Debian's
# kernel under QEMU (software emulation: no /dev/kvm needed) with an initramfs
# holding busybox and tests/cgroup2/v2test built from this tree, and checks the
# limits that kernel enforced. Kernel and busybox come from Debian's archive
# (apt-get download, cached in build/cgroup2/).
set -eu
cd "$(dirname "$0")/.."
out=build/cgroup2
mkdir -p "$out"
sh scripts/deps.sh qemu-system-x86 cpio

sh scripts/debian-kernel.sh "$out/kernel"
cp "$out/kernel/vmlinuz" "$out/vmlinuz"
if [ ! -f "$out/busybox" ]; then
  rm -rf "$out/pkgs" && mkdir -p "$out/pkgs"
  (cd "$out/pkgs" && apt-get download -qq busybox-static 2>/dev/null)
  dpkg-deb -x "$out"/pkgs/busybox-static_*.deb "$out/pkgs/b"
  cp "$out/pkgs/b/bin/busybox" "$out/busybox"
  rm -rf "$out/pkgs"
fi

make --no-print-directory build >/dev/null
objs=$(ls build/obj/*/*.o | grep -v cli/main.o)
# The libraries: the Makefile's PKGS (make test-cgroup2 passes them).
# shellcheck disable=SC2086
cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -Isrc \
   -o "$out/v2test" tests/cgroup2/v2test.c $objs \
   $(pkg-config --libs ${PKGS:-libevent libevent_openssl openssl jansson sqlite3 libseccomp libarchive nettle}) -lm

root="$out/initramfs"
rm -rf "$root"
mkdir -p "$root/usr/bin" "$root/usr/lib/x86_64-linux-gnu" "$root/usr/lib64" "$root/etc" \
         "$root/proc" "$root/sys" "$root/dev" "$root/run" "$root/tmp" "$root/newroot"
ln -s usr/bin "$root/bin"; ln -s usr/bin "$root/sbin"
ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"
cp "$out/busybox" "$root/usr/bin/busybox"
for a in sh mount umount switch_root cp mkdir poweroff cat echo; do ln -s busybox "$root/usr/bin/$a"; done
cp "$out/v2test" "$root/usr/bin/v2test"
for lib in $(ldd "$out/v2test" | awk '/=> \// {print $3}'); do
  cp -L "$lib" "$root/usr/lib/x86_64-linux-gnu/"
done
cp -L /lib64/ld-linux-x86-64.so.2 "$root/usr/lib64/"
cat > "$root/init" <<'INIT'
#!/bin/sh
# pivot_root cannot leave the initramfs itself: stage 1 moves to a tmpfs.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
if [ "$1" != stage2 ]; then
  mount -t tmpfs -o size=256m root /newroot
  cp -a /usr /bin /sbin /lib /lib64 /etc /init /newroot/
  mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/run /newroot/tmp
  umount /dev /sys /proc
  exec switch_root /newroot /init stage2
fi
mount -t cgroup2 none /sys/fs/cgroup
echo "kernel $(cat /proc/sys/kernel/osrelease), cgroup controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
/usr/bin/v2test
poweroff -f
INIT
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out/initramfs.cpio.gz"

start=$(date +%s)
timeout 900 qemu-system-x86_64 -m 768 -smp 2 -cpu max -nographic -no-reboot \
  -kernel "$out/vmlinuz" -initrd "$out/initramfs.cpio.gz" \
  -append "console=ttyS0 panic=-1 quiet loglevel=3" </dev/null > "$out/console.log" 2>&1 || true
grep -E "^(ok|FAIL) |^kernel |V2TEST RESULT" "$out/console.log" || true
echo "cgroup2: $(($(date +%s) - start)) s in QEMU"
grep -q "V2TEST RESULT: PASS" "$out/console.log"
