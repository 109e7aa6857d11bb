#!/bin/sh
# The microVM guest (docs/security.md, "microVM"): Debian's kernel and an
# initramfs holding our static init (guest/init.c) and the virtio modules it
# loads, in build/microvm/. Usage: sh scripts/microvm-guest.sh
set -eu
cd "$(dirname "$0")/.."
out=build/microvm
mkdir -p "$out"
sh scripts/deps.sh qemu-system-x86 cpio squashfs-tools
# virtio_mmio: microvm's devices (found through ACPI: the kernel cannot take
# them from its command line); virtio_console: the channel to the daemon;
# virtio_blk and squashfs: the runtimes' read-only disk; virtio_net: the
# NIC every VM has (a function with egress gets a tap device behind it).
sh scripts/debian-kernel.sh "$out/kernel" virtio_mmio virtio_console virtio_blk squashfs virtio_net

cc -O2 -static -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Isrc -Iguest -o "$out/init" guest/init.c guest/claim.c src/sandbox/vm_channel.c
root="$out/initramfs"
rm -rf "$root"
mkdir -p "$root/modules"
cp "$out/init" "$root/init"
cp "$out"/kernel/modules/*.ko "$out/kernel/modules/order" "$root/modules/"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 > "$out/initramfs.cpio.gz"
cp "$out/kernel/vmlinuz" "$out/kernel/release" "$out/"

# The runtimes' disk (mounted at /usr in the guest): this machine's Node and
# Python with the libraries they load, Python's standard library, and the
# tree's runtimes at lib/impuls/runtime (/var/runtime). Uncompressed: a
# guest under TCG reads it faster than it would decompress it, and the
# host's page cache holds one copy for every VM.
sh scripts/microvm-runtimes.sh "$out/runtimes.img"
