#pragma once
/* The microvm backend's pieces (microvm.c, the daemon's side; microvm_vmm.c,
 * the supervisor that runs one VM). See docs/security.md, "microVM". */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sandbox;
struct sandbox_spec;

#define MICROVM_QEMU "/usr/bin/qemu-system-x86_64"
/* The daemon's own command that becomes a VM's supervisor (not for users). */
#define MICROVM_VMM_COMMAND "__microvm"
enum {
    /* Beyond the function's memory, the VM has this for the guest's kernel
     * and init and the page cache of the runtime's own code
     * (Node.js reads tens of MiB of its binary): with less, a function
     * near its limit makes the guest evict and reread that code (thrash)
     * instead of reaching it. Pages the guest never touches cost the host
     * nothing. */
    MICROVM_GUEST_OVERHEAD_MB = 160,
    /* QEMU's own (the TCG translation buffer is capped at 64 MiB), on top of
     * the VM's memory in the instance's cgroup. */
    MICROVM_QEMU_OVERHEAD_MB = 192,
    MICROVM_PIDS = 256, /* QEMU's threads, the supervisor */
    MICROVM_SAVED_MAX = 8, /* saved VMs kept (their guest RAM touched, 100-200 MiB each) */
    /* Added to the daemon's init timeout for a VM: a cold start that finds
     * no saved VM of its size boots one (seconds under TCG, more when the
     * host is busy) before the runtime starts. */
    MICROVM_BOOT_ALLOWANCE_S = 60,
};

/* "kvm" when QEMU (an unprivileged uid) can use /dev/kvm, else "tcg"
 * (software emulation); the group QEMU keeps for it, or (gid_t)-1. */
const char *microvm_accelerator(void);
gid_t microvm_kvm_group(void);
/* QEMU installed and the guest built in vm_dir; else false and why. */
bool microvm_available(const char *vm_dir, char *why, size_t whylen);
int microvm_vm_memory_mb(int memory_mb);
void microvm_snapshot_path(const struct sandbox_spec *spec, char *out, size_t len);
/* The VM starts spec's runtime before its claim (spec->vm_prestart, and a
 * command line the kernel's can carry). */
bool microvm_prestarts(const struct sandbox_spec *spec);
/* Removes saved VMs of other builds of the guest or QEMU, and saves that
 * never completed (at start). */
void microvm_prune_snapshots(const char *vm_dir, const char *state_dir);
/* Keeps the max saved VMs used last (a restore touches its file), so that
 * functions of ever new sizes cannot fill the disk. */
void microvm_keep_recent_snapshots(const char *state_dir, int max);
/* microvm_ram.c: a sealed memfd with the guest RAM of the saved VM at path
 * (whose VM has vm_memory_mb), shared by every VM restored from it, and in
 * *file an fd of that saved VM's file (its devices' state). -1 and *file
 * -1 when none is saved there (a boot). -1 and an fd in *file when its
 * memfd is not made yet: it is being copied on a thread of its own (not
 * the caller's, the daemon's event loop); microvm_send_ram_when_loaded
 * then hands it to the VM's supervisor. */
int microvm_shared_ram(const char *path, int vm_memory_mb, int *file);
/* Sends the memfd of file's saved VM, once copied, over ctl (a spawn's
 * control socket: the message "r" with the memfd as SCM_RIGHTS; "r" with
 * none when it could not be copied: the VM boots). */
void microvm_send_ram_when_loaded(int file, int ctl);
/* Copies the data (not the holes) of from's first len bytes to the same
 * offsets of to. */
int microvm_copy_data(int from, int to, off_t len);
int microvm_spawn(const struct sandbox_spec *spec, struct sandbox *sb, char *err, size_t errlen);
/* The most memory the runtime used, as the guest last reported it (before
 * each result), in bytes; 0 before any. */
int64_t microvm_memory_peak(struct sandbox *sb);
/* After the supervisor exited: true when the function ran out of memory;
 * reason: what ended the VM when its runtime did not end by itself. */
bool microvm_exit_info(struct sandbox *sb, char *reason, size_t len);
/* The supervisor: `impuls __microvm ...` (argv as microvm.c writes it). */
int microvm_vmm_main(int argc, char **argv);
