/* The microvm backend, the daemon's side: each instance is a QEMU microvm
 * (the guest: guest/init.c, Debian's kernel, the runtimes' squashfs; built
 * by scripts/microvm-guest.sh) run by a supervisor process of its own,
 * microvm_vmm.c, which this file starts:
 *
 *   daemon ──fork+exec /proc/self/exe __microvm──▶ supervisor (root, in the
 *     │  instance cgroup: memory = the VM's + QEMU's, pids)   │
 *     │  listens on a Unix socket for the Runtime API         │ clone(NEWPID|NEWNS|NEWNET|NEWIPC|NEWUTS)
 *     │  ◀── one connection per guest connection ─────────────│──▶ QEMU, uid ≠ 0, -sandbox on
 *     │  ◀── the runtime's output (a virtio-serial port) ──────────────────────┘
 *     └── with egress: a tap device on the host (net/link.h), its fd to QEMU
 *         through the supervisor: the guest's NIC (without egress, a NIC
 *         whose backend leads nowhere)
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
#include <sys/uio.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "net/egress.h"
#include "sandbox/microvm.h"
#include "sandbox/sandbox.h"
#include "sandbox/spawn_util.h"

/* QEMU runs as an unprivileged uid: /dev/kvm must be open to others, or to
 * its group (then QEMU keeps that group, microvm_kvm_group). */
const char *microvm_accelerator(void)
{
    struct stat st;
    if (stat("/dev/kvm", &st) < 0 || !S_ISCHR(st.st_mode))
        return "tcg";
    return (st.st_mode & 0006) == 0006 || (st.st_mode & 0060) == 0060 ? "kvm" : "tcg";
}

gid_t microvm_kvm_group(void)
{
    struct stat st;
    if (stat("/dev/kvm", &st) < 0 || !S_ISCHR(st.st_mode) || (st.st_mode & 0006) == 0006 ||
        (st.st_mode & 0060) != 0060)
        return (gid_t)-1;
    return st.st_gid;
}

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

/* The guest's files and QEMU, by size, times and inode, and the saved
 * file's format: a new build of either, or a new format, makes every saved
 * VM stale. */
enum { SAVED_FORMAT = 2 }; /* 2: the RAM, then the devices (microvm_ram.c) */
static unsigned long long inputs_hash(const char *vm_dir)
{
    static const char *const inputs[] = {"vmlinuz", "initramfs.cpio.gz", "runtimes.img", MICROVM_QEMU};
    unsigned long long h = (1469598103934665603ull ^ SAVED_FORMAT) * 1099511628211ull; /* FNV-1a */
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

bool microvm_prestarts(const sandbox_spec_t *spec)
{
    if (!spec->vm_prestart)
        return false;
    size_t total = 0;
    for (const char *const *a = spec->argv; *a; a++) {
        if (strpbrk(*a, ", \t\n") || !**a) /* the kernel's command line carries it, comma-separated */
            return false;
        total += strlen(*a) + 1;
    }
    return total < 400;
}

/* The saved VM a cold start of this memory size (and the daemon's /tmp and
 * process limits, fixed at the guest's boot) restores, on this accelerator
 * (a VM saved under TCG does not restore under KVM: other CPU state), with
 * the runtime it pre-started ("r" and a hash of its command line), if any. */
void microvm_snapshot_path(const sandbox_spec_t *spec, char *out, size_t len)
{
    unsigned long long r = 0;
    if (microvm_prestarts(spec)) {
        r = 1469598103934665603ull;
        for (const char *const *a = spec->argv; *a; a++)
            for (const char *c = *a; ; c++) {
                r = (r ^ (unsigned char)*c) * 1099511628211ull;
                if (!*c)
                    break;
            }
    }
    snprintf(out, len, "%s/generic-%016llx-%dm-t%d-p%d-%s-r%08llx.vm", spec->vm_state_dir, inputs_hash(spec->vm_dir),
             microvm_vm_memory_mb(spec->memory_mb), spec->tmp_mb, spec->pids_max, microvm_accelerator(),
             r & 0xffffffffull);
}

void microvm_keep_recent_snapshots(const char *state_dir, int max)
{
    /* (A dozen files at most: a scan per save is cheap.) */
    for (;;) {
        DIR *d = opendir(state_dir);
        struct dirent *e;
        char oldest[300] = "", path[4400];
        struct timespec when = {0};
        int n = 0;
        while (d && (e = readdir(d))) {
            struct stat st;
            size_t len = strlen(e->d_name);
            snprintf(path, sizeof path, "%s/%s", state_dir, e->d_name);
            if (len < 4 || strcmp(e->d_name + len - 3, ".vm") || stat(path, &st) < 0)
                continue;
            n++;
            if (!oldest[0] || st.st_mtim.tv_sec < when.tv_sec ||
                (st.st_mtim.tv_sec == when.tv_sec && st.st_mtim.tv_nsec < when.tv_nsec)) {
                when = st.st_mtim;
                snprintf(oldest, sizeof oldest, "%s", e->d_name);
            }
        }
        if (d)
            closedir(d);
        if (n <= max || !oldest[0])
            return;
        snprintf(path, sizeof path, "%s/%s", state_dir, oldest);
        unlink(path);
    }
}

void microvm_prune_snapshots(const char *vm_dir, const char *state_dir)
{
    char keep[64], path[4400];
    snprintf(keep, sizeof keep, "generic-%016llx-", inputs_hash(vm_dir));
    DIR *d = opendir(state_dir);
    struct dirent *e;
    size_t n;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' && (strncmp(e->d_name, keep, strlen(keep)) ||
                                    ((n = strlen(e->d_name)) > 4 && !strcmp(e->d_name + n - 4, ".tmp")))) {
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

/* The supervisor's command line (microvm_vmm_main reads it back): paths
 * and numbers only. The function's command and environment (its secrets)
 * go over the ctl socket (go_message): /proc/PID/cmdline is anyone's. */
static char **vmm_argv(const sandbox_spec_t *spec, const char *snapshot, char *nums[2])
{
    char **a = calloc(9, sizeof *a);
    if (!a || asprintf(&nums[0], "%u", (unsigned)spec->uid) < 0 ||
        asprintf(&nums[1], "%d/%d/%d/%d", microvm_vm_memory_mb(spec->memory_mb), spec->tmp_mb, spec->pids_max,
                 microvm_prestarts(spec)) < 0) {
        free(a);
        return NULL;
    }
    const char *list[] = {"impuls", MICROVM_VMM_COMMAND, spec->vm_dir, snapshot, spec->vm_api_path, nums[0],
                          nums[1], spec->task_dir};
    for (size_t i = 0; i < 8; i++)
        a[i] = (char *)list[i];
    return a;
}

/* "g", then the runtime's argv and its environment, each string NUL-ended
 * and each list ended by an empty string, then the guest's network (a
 * string, guest/claim.h: "INNER GATEWAY" or nothing, a newline, then its
 * resolv.conf): the supervisor's go. */
static char *go_message(const sandbox_spec_t *spec, size_t *len)
{
    char net[64] = "";
    if (spec->egress) {
        char inner[INET_ADDRSTRLEN], gateway[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &spec->egress->link.inner_ip, inner, sizeof inner);
        inet_ntop(AF_INET, &spec->egress->link.host_ip, gateway, sizeof gateway);
        snprintf(net, sizeof net, "%s %s", inner, gateway);
    }
    const char *resolv = spec->resolv_conf ? spec->resolv_conf : "";
    size_t n = 3 + strlen(net) + 1 + strlen(resolv) + 1;
    for (int pass = 0; pass < 2; pass++)
        for (const char *const *e = pass ? spec->envp : spec->argv; *e; e++)
            n += strlen(*e) + 1;
    char *m = malloc(n), *p = m;
    if (!m)
        return NULL;
    *p++ = 'g';
    for (int pass = 0; pass < 2; pass++) {
        for (const char *const *e = pass ? spec->envp : spec->argv; *e; e++)
            p = stpcpy(p, *e) + 1;
        *p++ = '\0';
    }
    p = stpcpy(stpcpy(stpcpy(p, net), "\n"), resolv) + 1;
    *len = (size_t)(p - m);
    return m;
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
    char snapshot[4300], dir[108];
    microvm_snapshot_path(spec, snapshot, sizeof snapshot);
    snprintf(dir, sizeof dir, "%s", spec->vm_api_path);
    if (strrchr(dir, '/'))
        *strrchr(dir, '/') = '\0';
    mkdir(dir, 0700); /* the first VM's (a daemon that runs none makes none) */
    int api = listen_unix(spec->vm_api_path);
    int saved; /* the saved VM's file, at its RAM: its devices' state; -1: the VM boots and saves it */
    int ram = microvm_shared_ram(snapshot, vm_mb, &saved); /* -1 with a file: it comes over ctl */
    int ctl[2] = {-1, -1}, log[2] = {-1, -1};
    char *nums[2] = {NULL, NULL}, *go = NULL;
    char **argv = NULL;
    size_t go_len = 0;
    if (api < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, log) < 0 || !(argv = vmm_argv(spec, snapshot, nums)) ||
        !(go = go_message(spec, &go_len))) {
        snprintf(err, errlen, "cannot set up the VM's sockets (%s): %s", spec->vm_api_path, strerror(errno));
        goto fail;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* The supervisor's fds: 3 ctl (its report, "go", then its RAM
         * when that is still being copied), 4 the log, 5 the saved VM's RAM
         * and 6 its file (neither: it boots). */
        int c = fcntl(ctl[1], F_DUPFD, 64), l = fcntl(log[1], F_DUPFD, 64); /* (none is clobbered) */
        int r = ram >= 0 ? fcntl(ram, F_DUPFD, 64) : -1, f = saved >= 0 ? fcntl(saved, F_DUPFD, 64) : -1;
        if (c < 0 || l < 0 || move_fd(c, 3) < 0 || move_fd(l, 4) < 0 || (saved >= 0 && f < 0) ||
            (ram >= 0 && (r < 0 || move_fd(r, 5) < 0)))
            _exit(126);
        if (saved >= 0 && move_fd(f, 6) < 0)
            _exit(126);
        if (saved < 0)
            close_range(5, ~0u, 0);
        else if (ram < 0)
            close_range(7, ~0u, 0), close(5);
        else
            close_range(7, ~0u, 0);
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        goto fail;
    }
    free(argv);
    for (int i = 0; i < 2; i++)
        free(nums[i]);
    if (ram >= 0)
        close(ram);
    close(ctl[1]);
    close(log[1]);
    sb->pid = pid;
    sb->vm_booted = saved < 0;
    sb->ctl_fd = ctl[0];
    sb->log_fd = log[0];
    sb->rapi_fd = api;
    snprintf(sb->api_path, sizeof sb->api_path, "%s", spec->vm_api_path);
    /* (Not shut for writing: QEMU would read that as the log port's host
     * going away, and the guest's writes to it would block.) */
    fcntl(sb->log_fd, F_SETFL, O_NONBLOCK);
    rc = cgroup_attach(&sb->cg, pid);
    /* The link out goes with the go: the supervisor hands it to QEMU. */
    int tap = -1, tap_err = 0;
    if (rc == 0 && spec->egress && (tap = egress_lease_tap(spec->egress)) < 0)
        tap_err = -tap, tap = -1;
    struct iovec iov = {.iov_base = go, .iov_len = go_len};
    ssize_t sent = rc < 0 || tap_err ? -1 : send_with_fds(sb->ctl_fd, &iov, 1, &tap, tap >= 0);
    free(go);
    if (tap >= 0)
        close(tap); /* (QEMU's copy keeps it) */
    if (sent == (ssize_t)go_len && ram < 0 && saved >= 0)
        microvm_send_ram_when_loaded(saved, sb->ctl_fd); /* (after the go, which the supervisor reads first) */
    if (saved >= 0)
        close(saved);
    if (rc < 0 || tap_err || sent != (ssize_t)go_len) {
        if (tap_err)
            snprintf(err, errlen, "cannot make the VM's link out (a tap device): %s", strerror(tap_err));
        else
            snprintf(err, errlen, "cannot place the VM in its cgroup: %s", strerror(rc < 0 ? -rc : errno));
        kill(pid, SIGKILL);
        return -2;
    }
    return 0;
fail:
    if (ram >= 0)
        close(ram);
    if (saved >= 0)
        close(saved);
    free(argv);
    free(go);
    for (int i = 0; i < 2; i++)
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

int64_t microvm_memory_peak(sandbox_t *sb)
{
    char m[64];
    ssize_t n;
    /* Every "mem:" the supervisor sent so far (the last counts); a note
     * about the end stays for microvm_exit_info. */
    while (sb->ctl_fd >= 0 && (n = recv(sb->ctl_fd, m, sizeof m - 1, MSG_DONTWAIT | MSG_PEEK)) > 0) {
        m[n] = '\0';
        if (strncmp(m, "mem:", 4))
            break;
        if (recv(sb->ctl_fd, m, sizeof m - 1, MSG_DONTWAIT) > 0)
            sb->vm_peak = atoll(m + 4);
    }
    return sb->vm_peak;
}

bool microvm_exit_info(sandbox_t *sb, char *reason, size_t len)
{
    char note[512];
    reason[0] = '\0';
    microvm_memory_peak(sb); /* (the notes of memory before the one of the end) */
    ssize_t n = sb->ctl_fd >= 0 ? recv(sb->ctl_fd, note, sizeof note - 1, MSG_DONTWAIT) : -1;
    note[n > 0 ? n : 0] = '\0';
    if (!strcmp(note, "oom"))
        return true;
    if (!strncmp(note, "vm:", 3))
        snprintf(reason, len, "%s", note + 3);
    /* QEMU itself over its cgroup's limit: killed by the host's OOM killer. */
    return reason[0] && cgroup_oom_kills(&sb->cg) > 0;
}
