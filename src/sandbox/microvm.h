#pragma once
/* The microvm backend's pieces (microvm.c, the daemon's side; microvm_vmm.c,
 * the supervisor that runs one VM). See docs/security.md, "microVM". */
#include <stdbool.h>
#include <stddef.h>

struct sandbox;
struct sandbox_spec;

#define MICROVM_QEMU "/usr/bin/qemu-system-x86_64"
/* The daemon's own command that becomes a VM's supervisor (not for users). */
#define MICROVM_VMM_COMMAND "__microvm"
enum {
    /* The guest's kernel, init and page cache, beyond the function's memory:
     * the VM has memory_mb + this. */
    MICROVM_GUEST_OVERHEAD_MB = 64,
    /* QEMU's own (the TCG translation buffer is capped at 64 MiB), on top of
     * the VM's memory in the instance's cgroup. */
    MICROVM_QEMU_OVERHEAD_MB = 192,
    MICROVM_PIDS = 256, /* QEMU's threads, the supervisor */
    /* Added to the daemon's init timeout for a VM: a cold start that finds
     * no saved VM of its size boots one (seconds under TCG, more when the
     * host is busy) before the runtime starts. */
    MICROVM_BOOT_ALLOWANCE_S = 60,
};

/* "kvm" when /dev/kvm is usable, else "tcg" (software emulation). */
const char *microvm_accelerator(void);
/* QEMU installed and the guest built in vm_dir; else false and why. */
bool microvm_available(const char *vm_dir, char *why, size_t whylen);
int microvm_vm_memory_mb(int memory_mb);
void microvm_snapshot_path(const struct sandbox_spec *spec, char *out, size_t len);
/* Removes saved VMs of other builds of the guest or QEMU (at start). */
void microvm_prune_snapshots(const char *vm_dir, const char *state_dir);
int microvm_spawn(const struct sandbox_spec *spec, struct sandbox *sb, char *err, size_t errlen);
/* After the supervisor exited: true when the function ran out of memory;
 * reason: what ended the VM when its runtime did not end by itself. */
bool microvm_exit_info(struct sandbox *sb, char *reason, size_t len);
/* The supervisor: `impuls __microvm ...` (argv as microvm.c writes it). */
int microvm_vmm_main(int argc, char **argv);
