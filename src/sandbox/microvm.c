/* The microvm backend, the daemon's side: each instance is a QEMU microvm
 * (the guest: guest/init.c, Debian's kernel, the runtimes' squashfs; built
 * by scripts/microvm-guest.sh) run by a supervisor process of its own,
 * microvm_vmm.c, which this file starts:
 *
 *   daemon ──fork+exec /proc/self/exe __microvm──▶ supervisor (root, in the
 *     │  instance cgroup: memory = the VM's + QEMU's, pids)   │
 *     │  listens on a Unix socket for the Runtime API         │ clone(NEWPID|NEWNS|NEWNET|NEWIPC|NEWUTS)
 *     │  ◀── one connection per guest connection ─────────────│──▶ QEMU, uid ≠ 0, no NIC, -sandbox on
 *     │  ◀── the runtime's output (a virtio-serial port) ──────────────────────┘
 *
 * Exec, not a bare fork: the daemon has worker threads, and the supervisor
 * is a long-lived program. A function's cold start restores a saved VM of
 * its memory size (made by the first cold start of that size) and claims
 * it with the function's code and environment. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sandbox/microvm.h"
#include "sandbox/sandbox.h"
#include "sandbox/spawn_util.h"

const char *microvm_accelerator(void) { return access("/dev/kvm", R_OK | W_OK) == 0 ? "kvm" : "tcg"; }

bool microvm_available(const char *vm_dir, char *why, size_t whylen)
{
    if (access(MICROVM_QEMU, X_OK) < 0) {
        snprintf(why, whylen, "%s is not installed (Debian's qemu-system-x86)", MICROVM_QEMU);
        return false;
    }
    static const char *const files[] = {"vmlinuz", "initramfs.cpio.gz", "runtimes.img"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", vm_dir, files[i]);
        if (access(path, R_OK) < 0) {
            snprintf(why, whylen, "the guest is not built (%s: %s; make microvm-guest)", path, strerror(errno));
            return false;
        }
    }
    return true;
}

int microvm_vm_memory_mb(int memory_mb) { return memory_mb + MICROVM_GUEST_OVERHEAD_MB; }

/* The guest's files and QEMU, by size, times and inode: a new build of
 * either makes every saved VM stale. */
static unsigned long long inputs_hash(const char *vm_dir)
{
    static const char *const inputs[] = {"vmlinuz", "initramfs.cpio.gz", "runtimes.img", MICROVM_QEMU};
    unsigned long long h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        char path[4200];
        struct stat st = {0};
        if (inputs[i][0] == '/')
            snprintf(path, sizeof path, "%s", inputs[i]);
        else
            snprintf(path, sizeof path, "%s/%s", vm_dir, inputs[i]);
        stat(path, &st);
        unsigned long long v[] = {(unsigned long long)st.st_size, (unsigned long long)st.st_mtim.tv_sec,
                                  (unsigned long long)st.st_mtim.tv_nsec, (unsigned long long)st.st_ino};
        for (size_t k = 0; k < 4; k++)
            for (int b = 0; b < 8; b++)
                h = (h ^ ((v[k] >> (8 * b)) & 0xff)) * 1099511628211ull;
    }
    return h;
}

/* The saved VM a cold start of this memory size (and the daemon's /tmp and
 * process limits, fixed at the guest's boot) restores, on this accelerator
 * (a VM saved under TCG does not restore under KVM: other CPU state). */
void microvm_snapshot_path(const sandbox_spec_t *spec, char *out, size_t len)
{
    snprintf(out, len, "%s/generic-%016llx-%dm-t%d-p%d-%s.vm", spec->vm_state_dir, inputs_hash(spec->vm_dir),
             microvm_vm_memory_mb(spec->memory_mb), spec->tmp_mb, spec->pids_max, microvm_accelerator());
}

void microvm_prune_snapshots(const char *vm_dir, const char *state_dir)
{
    char keep[64], path[4400];
    snprintf(keep, sizeof keep, "generic-%016llx-", inputs_hash(vm_dir));
    DIR *d = opendir(state_dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' && strncmp(e->d_name, keep, strlen(keep))) {
            snprintf(path, sizeof path, "%s/%s", state_dir, e->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
}

static int listen_unix(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(a.sun_path, path, strlen(path) + 1);
    unlink(path);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || chmod(path, 0600) < 0 || listen(s, 64) < 0) {
        int e = errno;
        close(s);
        unlink(path);
        errno = e;
        return -1;
    }
    return s;
}

/* The supervisor's command line (microvm_vmm_main reads it back). */
static char **vmm_argv(const sandbox_spec_t *spec, const char *snapshot, char *nums[3])
{
    size_t n_argv = 0, n_env = 0;
    while (spec->argv[n_argv])
        n_argv++;
    while (spec->envp[n_env])
        n_env++;
    char **a = calloc(12 + n_argv + n_env, sizeof *a);
    if (!a || asprintf(&nums[0], "%u", (unsigned)spec->uid) < 0 ||
        asprintf(&nums[1], "%d/%d/%d", microvm_vm_memory_mb(spec->memory_mb), spec->tmp_mb, spec->pids_max) < 0 ||
        asprintf(&nums[2], "%zu", n_argv) < 0) {
        free(a);
        return NULL;
    }
    size_t i = 0;
    a[i++] = "impuls";
    a[i++] = MICROVM_VMM_COMMAND;
    a[i++] = (char *)spec->vm_dir;
    a[i++] = (char *)snapshot;
    a[i++] = (char *)spec->vm_api_path;
    a[i++] = nums[0];
    a[i++] = nums[1];
    a[i++] = (char *)spec->task_dir;
    a[i++] = nums[2];
    for (size_t k = 0; k < n_argv; k++)
        a[i++] = (char *)spec->argv[k];
    for (size_t k = 0; k < n_env; k++)
        a[i++] = (char *)spec->envp[k];
    a[i] = NULL;
    return a;
}

int microvm_spawn(const sandbox_spec_t *spec, sandbox_t *sb, char *err, size_t errlen)
{
    int vm_mb = microvm_vm_memory_mb(spec->memory_mb);
    int rc = cgroup_create(&sb->cg, spec->cgroup_name, vm_mb + MICROVM_QEMU_OVERHEAD_MB, MICROVM_PIDS,
                           spec->cpu_weight);
    if (rc < 0) {
        snprintf(err, errlen, "cannot create cgroup: %s", strerror(-rc));
        return -1;
    }
    char snapshot[4300];
    microvm_snapshot_path(spec, snapshot, sizeof snapshot);
    int api = listen_unix(spec->vm_api_path);
    int ctl[2] = {-1, -1}, log[2] = {-1, -1};
    char *nums[3] = {NULL, NULL, NULL};
    char **argv = NULL;
    if (api < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, log) < 0 || !(argv = vmm_argv(spec, snapshot, nums))) {
        snprintf(err, errlen, "cannot set up the VM's sockets (%s): %s", spec->vm_api_path, strerror(errno));
        goto fail;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* The supervisor's fds: 3 ctl (its report, and "go"), 4 the log. */
        if (move_fd(ctl[1], 3) < 0 || move_fd(log[1], 4) < 0)
            _exit(126);
        close_range(5, ~0u, 0);
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        goto fail;
    }
    free(argv);
    for (int i = 0; i < 3; i++)
        free(nums[i]);
    close(ctl[1]);
    close(log[1]);
    sb->pid = pid;
    sb->ctl_fd = ctl[0];
    sb->log_fd = log[0];
    sb->rapi_fd = api;
    snprintf(sb->api_path, sizeof sb->api_path, "%s", spec->vm_api_path);
    /* (Not shut for writing: QEMU would read that as the log port's host
     * going away, and the guest's writes to it would block.) */
    fcntl(sb->log_fd, F_SETFL, O_NONBLOCK);
    rc = cgroup_attach(&sb->cg, pid);
    if (rc < 0 || write(sb->ctl_fd, "g", 1) != 1) {
        snprintf(err, errlen, "cannot place the VM in its cgroup: %s", strerror(rc < 0 ? -rc : errno));
        kill(pid, SIGKILL);
        return -2;
    }
    return 0;
fail:
    free(argv);
    for (int i = 0; i < 3; i++)
        free(nums[i]);
    for (int i = 0; i < 2; i++) {
        if (ctl[i] >= 0)
            close(ctl[i]);
        if (log[i] >= 0)
            close(log[i]);
    }
    if (api >= 0) {
        close(api);
        unlink(spec->vm_api_path);
    }
    cgroup_destroy(&sb->cg);
    return -1;
}

bool microvm_exit_info(sandbox_t *sb, char *reason, size_t len)
{
    char note[512];
    reason[0] = '\0';
    ssize_t n = sb->ctl_fd >= 0 ? recv(sb->ctl_fd, note, sizeof note - 1, MSG_DONTWAIT) : -1;
    note[n > 0 ? n : 0] = '\0';
    if (!strcmp(note, "oom"))
        return true;
    if (!strncmp(note, "vm:", 3))
        snprintf(reason, len, "%s", note + 3);
    /* QEMU itself over its cgroup's limit: killed by the host's OOM killer. */
    return reason[0] && cgroup_oom_kills(&sb->cg) > 0;
}
