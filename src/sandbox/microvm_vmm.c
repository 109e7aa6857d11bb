/* A microVM's supervisor (`impuls __microvm`, started by microvm.c): runs
 * one QEMU microvm confined, makes or restores the saved generic VM, hands
 * the guest its claim (the function's environment, command and code), then
 * carries the guest's connections (the channel's streams, vm_channel.h) to
 * the instance's Runtime API socket until the VM ends. Its exit status is
 * the runtime's, as a namespace sandbox's init reports it (the code, or
 * 128+N for signal N); what else ended the VM it says on fd 3 ("oom", or
 * "vm:" and the reason) before exiting, and on the way there the runtime's
 * memory before each result ("mem:" and bytes).
 *
 * fds from microvm.c: 3 ctl (its go once in its cgroup: the runtime's
 * command and environment, never on a command line, the guest's network and,
 * with egress, the tap device that is its NIC's backend), 4 the log (QEMU's
 * console and the runtime's output), 5 the saved VM's RAM and 6 its file
 * when there is one to restore (microvm_ram.c). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "sandbox/microvm.h"
#include "sandbox/sandbox.h"
#include "sandbox/spawn_util.h"
#include "sandbox/vm_channel.h"

enum { CTL = 3, LOG = 4, SAVED_RAM = 5, SAVED_FILE = 6 };
/* QEMU's fds (its command line names them). */
enum { Q_CHAN = 3, Q_LOG = 4, Q_QMP = 5, Q_KERNEL = 6, Q_INITRD = 7, Q_DISK = 8, Q_SNAPSHOT = 9, Q_RAM = 10, Q_NET = 11, Q_FDS };

typedef struct vmm {
    const char *vm_dir, *snapshot, *api_path, *task_dir;
    uid_t uid;
    int memory_mb, tmp_mb, pids_max; /* the VM's; the guest's /tmp, the runtime's processes */
    int prestart; /* the guest starts argv before its claim (microvm_prestarts) */
    char **argv, **env;
    const char *net; /* the guest's network, for its claim (guest/claim.h) */
    int tap;         /* the NIC's backend with egress (net/link.h), or -1 */
    int chan, qmp;
    int ram;  /* the guest's RAM: the saved VM's sealed memfd, or a boot's own */
    int snap; /* a restore's saved VM, at its device state */
    FILE *qmp_in; /* QMP's answers (qmp_start) */
    pid_t qemu;
    bool restoring;
    int report_status; /* the guest's report; -1 until it came */
    long oom_kills;
} vmm_t;

static void say(const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    (void)!write(LOG, "[impuls] microvm: ", 18);
    (void)!write(LOG, line, (size_t)n);
}

static void __attribute__((noreturn)) finish(const char *note, int code)
{
    if (note)
        send(CTL, note, strlen(note), MSG_NOSIGNAL);
    _exit(code);
}

static long host_tsc_khz(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    double mhz = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "cpu MHz : %lf", &mhz) == 1)
            break;
    if (f)
        fclose(f);
    return (long)(mhz * 1000);
}

/* ---- QEMU ---- */

static int open_guest_file(const vmm_t *v, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", v->vm_dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        say("%s: %s", path, strerror(errno));
        finish("vm:the guest's files are missing", 125);
    }
    return fd;
}

/* In QEMU's new namespaces (pid, mount, net, ipc, uts): no network at all,
 * a root of its own with the system's directories read-only and nothing
 * else of the host's (sandbox_jail_root; its /proc shows its pid namespace
 * alone: QEMU); then an unprivileged uid with no capabilities and
 * no_new_privs; QEMU adds its own seccomp filter (-sandbox on). The guest's
 * files are fds: QEMU opens them as /proc/self/fd/N (inode permissions
 * only, none of the path's directories). */
static void __attribute__((noreturn)) exec_qemu(const vmm_t *v, char **qargv, const int fds[Q_FDS])
{
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    char err[300];
    /* (/tmp: any directory will do, in QEMU's own mount namespace) */
    if (sandbox_jail_root("/tmp", strcmp(microvm_accelerator(), "kvm") ? NULL : "kvm", err, sizeof err) < 0) {
        dprintf(2, "[impuls] microvm: cannot make QEMU's root: %s\n", err);
        _exit(126);
    }
    /* fds into place: first out of the way of every target, then down. */
    int high[Q_FDS];
    for (int i = 3; i < Q_FDS; i++)
        high[i] = fds[i] >= 0 ? fcntl(fds[i], F_DUPFD_CLOEXEC, 64) : -1;
    if (nul < 0 || dup2(nul, 0) < 0 || dup2(LOG, 1) < 0 || dup2(LOG, 2) < 0)
        _exit(126);
    for (int i = 3; i < Q_FDS; i++)
        if (high[i] >= 0 && move_fd(high[i], i) < 0)
            _exit(126);
    close_range(Q_FDS, ~0u, 0);
    gid_t kvm = microvm_kvm_group();
    if (setgroups(kvm != (gid_t)-1, &kvm) < 0 || setresgid(v->uid, v->uid, v->uid) < 0 ||
        setresuid(v->uid, v->uid, v->uid) < 0 ||
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
        dprintf(2, "[impuls] microvm: cannot drop privileges: %s\n", strerror(errno));
        _exit(126);
    }
    execv(MICROVM_QEMU, qargv);
    dprintf(2, "[impuls] microvm: cannot start %s: %s\n", MICROVM_QEMU, strerror(errno));
    _exit(127);
}

/* The NIC's backend, for QEMU: the tap (a copy: a restore that fails starts
 * QEMU again), or, without egress, one end of a datagram pair whose other end
 * is closed at once, so that the guest's frames go nowhere. Every VM has the
 * same NIC, so that one saved VM restores with either (-netdev socket: no
 * vnet header: the tap is made without IFF_VNET_HDR, tap.c). */
static int nic_backend(const vmm_t *v)
{
    int pair[2];
    if (v->tap >= 0)
        return fcntl(v->tap, F_DUPFD_CLOEXEC, 0);
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) < 0)
        return -1;
    close(pair[0]);
    return pair[1];
}

static void start_qemu(vmm_t *v)
{
    int chan[2], qmp[2] = {-1, -1}, nic = nic_backend(v);
    if (nic < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, chan) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) < 0)
        finish("vm:socketpair failed", 125);
    int fds[Q_FDS] = {-1, -1, -1, chan[1], LOG, qmp[1], open_guest_file(v, "vmlinuz"),
                      open_guest_file(v, "initramfs.cpio.gz"), open_guest_file(v, "runtimes.img"), v->snap, v->ram,
                      nic};
    bool kvm = !strcmp(microvm_accelerator(), "kvm");
    char mem[16], append[800], accel[32], ram[128];
    snprintf(mem, sizeof mem, "%d", v->memory_mb);
    /* The guest's RAM: a restore maps the saved one private (its writes are
     * its own), a boot its own memfd shared, so that it can be saved. */
    snprintf(ram, sizeof ram, "memory-backend-file,id=ram,size=%dM,mem-path=/proc/self/fd/%d,share=%s", v->memory_mb,
             Q_RAM, v->restoring ? "off" : "on");
    int n_app = snprintf(append, sizeof append, "console=ttyS0 panic=-1 quiet tsc_early_khz=%ld impuls.memory_mb=%d "
                         "impuls.tmp_mb=%d impuls.pids_max=%d", host_tsc_khz(),
                         v->memory_mb - MICROVM_GUEST_OVERHEAD_MB, v->tmp_mb, v->pids_max);
    for (int i = 0; v->prestart && v->argv[i]; i++) /* (microvm.c checked that it fits) */
        n_app += snprintf(append + n_app, sizeof append - (size_t)n_app, "%s%s", i ? "," : " impuls.prestart=",
                          v->argv[i]);
    snprintf(accel, sizeof accel, kvm ? "kvm" : "tcg,tb-size=64");
    char *a[80];
    int n = 0;
#define ARG(...)                                                                                                   \
    do {                                                                                                           \
        char *_args[] = {__VA_ARGS__};                                                                            \
        for (size_t _i = 0; _i < sizeof _args / sizeof *_args; _i++)                                              \
            a[n++] = _args[_i];                                                                                    \
    } while (0)
    ARG("qemu-system-x86_64", "-M", "microvm", "-accel", accel, "-cpu", kvm ? "host" : "max", "-m", mem, "-smp", "1");
    ARG("-object", ram, "-machine", "memory-backend=ram");
    ARG("-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-serial", "stdio");
    ARG("-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
    ARG("-kernel", "/proc/self/fd/6", "-initrd", "/proc/self/fd/7", "-append", append);
    ARG("-drive", "file=/proc/self/fd/8,if=none,id=rt,format=raw,readonly=on", "-device", "virtio-blk-device,drive=rt");
    ARG("-device", "virtio-serial-device", "-chardev", "socket,id=ch0,fd=3", "-device",
        "virtserialport,chardev=ch0,name=impuls.0", "-chardev", "socket,id=log,fd=4", "-device",
        "virtserialport,chardev=log,name=impuls.log");
    ARG("-chardev", "socket,id=qmp,fd=5", "-mon", "chardev=qmp,mode=control");
    ARG("-netdev", v->tap >= 0 ? "tap,id=net0,fd=11" : "socket,id=net0,fd=11", "-device",
        "virtio-net-device,netdev=net0");
    if (v->restoring)
        ARG("-incoming", "defer"); /* (after x-ignore-shared: restore_saved) */
    a[n] = NULL;
#undef ARG
    long pid = syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD,
                       NULL, NULL, NULL, NULL);
    if (pid == 0)
        exec_qemu(v, a, fds);
    if (pid < 0) {
        say("clone: %s", strerror(errno));
        finish("vm:cannot start QEMU", 125);
    }
    v->qemu = (pid_t)pid;
    for (int i = Q_KERNEL; i < Q_FDS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    v->snap = v->ram = -1;
    close(chan[1]);
    if (qmp[1] >= 0)
        close(qmp[1]);
    v->chan = chan[0];
    v->qmp = qmp[0];
}

/* ---- QMP: QEMU's control socket ---- */

/* One QMP command (with an fd passed along, or -1); true when it returned. */
static bool qmp(vmm_t *v, const char *cmd, int fd, char **reply)
{
    struct iovec iov = {.iov_base = (void *)cmd, .iov_len = strlen(cmd)};
    if (!v->qmp_in || send_with_fds(v->qmp, &iov, 1, fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0) < 0)
        return false;
    static char *line;
    static size_t cap;
    while (getline(&line, &cap, v->qmp_in) > 0) {
        if (strstr(line, "\"error\""))
            return false;
        if (strstr(line, "\"return\"")) {
            if (reply)
                *reply = line;
            return true;
        }
    }
    return false;
}

/* QMP's greeting read and its commands enabled. */
static bool qmp_start(vmm_t *v)
{
    v->qmp_in = fdopen(dup(v->qmp), "r");
    char *greeting = NULL;
    size_t cap = 0;
    /* x-ignore-shared: a save leaves out the RAM of a shared memory
     * backend (the boot's memfd, written to the file by save_generic), and
     * a restore expects none. */
    bool ok = v->qmp_in && getline(&greeting, &cap, v->qmp_in) > 0 &&
              qmp(v, "{\"execute\":\"qmp_capabilities\"}", -1, NULL) &&
              qmp(v, "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":"
                     "[{\"capability\":\"x-ignore-shared\",\"state\":true}]}}", -1, NULL);
    free(greeting);
    return ok;
}

/* ---- saving the generic VM (the first cold start of its size) ---- */

/* Writes the VM's whole state (waiting for its claim) to a new file,
 * renamed into place once complete, and lets it run on: its devices
 * (QEMU's migration, after the RAM's place), then its RAM, copied from its
 * memfd while QEMU holds it stopped after the migration. Saved running,
 * not stopped first: the guest is idle, so the copy converges at once, and
 * a state saved running is one QEMU starts as soon as it is restored (a
 * stopped one would wait for a "cont"). A failure only costs the next cold
 * start a boot. */
static void save_generic(vmm_t *v, int ram)
{
    char tmp[4400];
    off_t ram_len = (off_t)v->memory_mb << 20;
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", v->snapshot, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    char *reply = NULL;
    bool ok = fd >= 0 && lseek(fd, ram_len, SEEK_SET) == ram_len &&
              qmp(v, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"snap\"}}", fd, NULL) &&
              qmp(v, "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"fd:snap\"}}", -1, NULL);
    while (ok) {
        ok = qmp(v, "{\"execute\":\"query-migrate\"}", -1, &reply);
        if (ok && strstr(reply, "\"completed\""))
            break;
        if (ok && strstr(reply, "\"failed\""))
            ok = false;
        nanosleep(&(struct timespec){.tv_nsec = 5 * 1000 * 1000}, NULL);
    }
    ok = ok && microvm_copy_data(ram, fd, ram_len) == 0 && fsync(fd) == 0 && rename(tmp, v->snapshot) == 0;
    if (ok) {
        char dir[4400];
        snprintf(dir, sizeof dir, "%s", v->snapshot);
        *strrchr(dir, '/') = '\0';
        microvm_keep_recent_snapshots(dir, MICROVM_SAVED_MAX);
    }
    if (!ok) {
        say("could not save the generic VM (%s): the next cold start boots again", strerror(errno));
        unlink(tmp);
    }
    if (fd >= 0)
        close(fd);
    if (!qmp(v, "{\"execute\":\"cont\"}", -1, NULL))
        finish("vm:QEMU did not resume after the save", 125);
}

static void stop_qemu(vmm_t *v)
{
    kill(v->qemu, SIGKILL);
    while (waitpid(v->qemu, NULL, 0) < 0 && errno == EINTR)
        ;
    if (v->qmp_in)
        fclose(v->qmp_in);
    v->qmp_in = NULL;
    close(v->qmp);
    close(v->chan);
}

/* QEMU's run state from a query-status answer ("running", "inmigrate",
 * ...; "" when none). (The answer also has a "running": true|false.) */
static void qmp_run_state(const char *reply, char *out, size_t len)
{
    const char *p = strstr(reply, "\"status\"");
    out[0] = '\0';
    if (!p || !(p = strchr(p + 8, '"')))
        return;
    size_t n = strcspn(p + 1, "\"");
    snprintf(out, len, "%.*s", (int)n, p + 1);
}

/* A restore: QEMU reads the devices' state from the saved file (its RAM
 * is the memfd already) and runs the guest once it is in. The claim goes
 * after it, so that the clock it carries is not the restore's time behind
 * when the guest sets it. False when QEMU could not: then QEMU is stopped,
 * and when it was the saved VM's state QEMU could not load (not QEMU that
 * did not start), that saved VM is removed (if it is still the file read),
 * so that the next cold start of its size saves a new one. */
static bool restore_saved(vmm_t *v)
{
    struct stat read_st;
    bool known = fstat(v->snap, &read_st) == 0;
    start_qemu(v);
    char *reply = NULL, cmd[120], state[32] = "";
    snprintf(cmd, sizeof cmd, "{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"fd:%d\"}}", Q_SNAPSHOT);
    bool loading = qmp_start(v) && qmp(v, cmd, -1, NULL);
    while (loading) {
        if (!qmp(v, "{\"execute\":\"query-status\"}", -1, &reply))
            break; /* QEMU exits when a restore fails */
        qmp_run_state(reply, state, sizeof state);
        if (!strcmp(state, "running"))
            return true;
        if (strcmp(state, "inmigrate"))
            break;
        nanosleep(&(struct timespec){.tv_nsec = 2 * 1000 * 1000}, NULL);
    }
    stop_qemu(v);
    struct stat now;
    bool removed = loading && known && stat(v->snapshot, &now) == 0 && now.st_dev == read_st.st_dev &&
                   now.st_ino == read_st.st_ino && unlink(v->snapshot) == 0;
    say("QEMU could not restore the saved VM %s (%s; its log is above)%s: this VM boots", v->snapshot,
        !loading ? "it did not start" : state[0] ? state : "it stopped", removed ? ": removed" : "");
    return false;
}

/* A boot of the guest, in a memfd of its own, to the point where it waits
 * for its claim, and the save of that generic VM. */
static void boot_and_save(vmm_t *v)
{
    off_t ram_len = (off_t)v->memory_mb << 20;
    int own_ram = memfd_create("impuls-vm-ram", MFD_CLOEXEC);
    v->restoring = false;
    v->snap = -1;
    if (own_ram < 0 || ftruncate(own_ram, ram_len) < 0 || (v->ram = dup(own_ram)) < 0)
        finish("vm:cannot make the guest's memory", 125);
    start_qemu(v);
    if (!qmp_start(v)) {
        stop_qemu(v);
        finish("vm:QEMU did not start (see the log)", 125);
    }
    vmc_frame_t f;
    /* A booted guest with no code says it waits for its claim. */
    if (vmc_read_header(v->chan, &f) < 0 || f.type != VMC_OPEN || f.stream != 0) {
        stop_qemu(v);
        finish("vm:the VM did not boot (its console is in the log)", 125);
    }
    save_generic(v, own_ram);
    close(own_ram); /* (QEMU has it mapped) */
}

/* ---- the claim ---- */

typedef struct out {
    int chan;
    size_t n, total, sent;
    uint8_t buf[VMC_PAYLOAD_MAX];
} out_t;

static void out_put(out_t *o, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        size_t k = sizeof o->buf - o->n < len ? sizeof o->buf - o->n : len;
        memcpy(o->buf + o->n, p, k);
        o->n += k;
        o->total += k;
        o->sent += k;
        if (o->sent > VMC_CLAIM_MAX) /* the guest would refuse it */
            finish("vm:the function's code and environment are more than a microVM takes (64 MiB; "
                   "isolation \"namespace\" takes up to 250 MiB)", 125);
        p += k;
        len -= k;
        if (o->n == sizeof o->buf) {
            if (vmc_send(o->chan, VMC_DATA, 0, o->buf, (uint32_t)o->n) < 0)
                finish("vm:the VM went away during its claim", 125);
            o->n = 0;
        }
    }
}

static void out_pad(out_t *o)
{
    static const uint8_t zeros[4];
    out_put(o, zeros, (4 - o->total % 4) % 4);
}

static void cpio_entry(out_t *o, const char *name, unsigned mode, unsigned long size)
{
    char h[111];
    snprintf(h, sizeof h, "070701%08X%08X%08X%08X%08X%08X%08lX%08X%08X%08X%08X%08zX%08X", 0u, mode, 0u, 0u, 1u, 0u,
             size, 0u, 0u, 0u, 0u, strlen(name) + 1, 0u);
    out_put(o, h, 110);
    out_put(o, name, strlen(name) + 1);
    out_pad(o);
}

/* Directories, regular files and links under dir (rel: the path inside the
 * task; a zip's links stay inside it, the store checks); anything else (the
 * store makes none) is left out. */
static void cpio_tree(out_t *o, const char *dir, const char *rel, int depth)
{
    static char buf[65536]; /* (not on the stack: this recurses) */
    if (depth > 64) {
        say("the code's directories nest deeper than 64: the rest is left out");
        return;
    }
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[4200], name[4200];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(name, sizeof name, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        struct stat st;
        if (lstat(path, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            cpio_entry(o, name, 040755, 0);
            cpio_tree(o, path, name, depth + 1);
        } else if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t n = readlink(path, target, sizeof target - 1);
            if (n <= 0)
                continue;
            cpio_entry(o, name, 0120777, (unsigned long)n);
            out_put(o, target, (size_t)n);
            out_pad(o);
        } else if (S_ISREG(st.st_mode)) {
            int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            if (fd < 0)
                continue;
            cpio_entry(o, name, 0100000 | (st.st_mode & 0111 ? 0755 : 0644), (unsigned long)st.st_size);
            off_t left = st.st_size;
            while (left > 0) {
                ssize_t r = read(fd, buf, sizeof buf < (size_t)left ? sizeof buf : (size_t)left);
                if (r <= 0) { /* shorter than it was: keep the archive whole */
                    memset(buf, 0, sizeof buf);
                    r = sizeof buf < (size_t)left ? (ssize_t)sizeof buf : (ssize_t)left;
                }
                out_put(o, buf, (size_t)r);
                left -= r;
            }
            close(fd);
            out_pad(o);
        }
    }
    if (d)
        closedir(d);
}

/* guest/claim.h: the clock and a seed for the guest's random numbers (a
 * restored VM's would be the saved one's, the same in every instance), its
 * network, the environment, the command, the code, then CLOSE. */
static void send_claim(vmm_t *v)
{
    static out_t o;
    o.chan = v->chan;
    struct timespec now;
    unsigned char seed[64]; /* as the kernel's own crng keys: 256 bits, four times over */
    char first[32 + 2 * sizeof seed];
    clock_gettime(CLOCK_REALTIME, &now);
    int n = snprintf(first, sizeof first, "%lld ", (long long)now.tv_sec * 1000000000 + now.tv_nsec);
    if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed)
        finish("vm:no randomness for the guest's seed", 125);
    for (size_t i = 0; i < sizeof seed; i++)
        n += snprintf(first + n, sizeof first - (size_t)n, "%02x", seed[i]);
    out_put(&o, first, (size_t)n);
    out_put(&o, "\n", 1);
    out_put(&o, v->net, strlen(v->net) + 1);
    for (char **e = v->env; *e; e++)
        out_put(&o, *e, strlen(*e) + 1);
    out_put(&o, "", 1);
    for (char **a = v->argv; *a; a++)
        out_put(&o, *a, strlen(*a) + 1);
    out_put(&o, "", 1);
    o.total = 0; /* the archive's alignment counts from its own start */
    cpio_tree(&o, v->task_dir, "", 0);
    cpio_entry(&o, "TRAILER!!!", 0, 0);
    if ((o.n && vmc_send(v->chan, VMC_DATA, 0, o.buf, (uint32_t)o.n) < 0) ||
        vmc_send(v->chan, VMC_CLOSE, 0, NULL, 0) < 0)
        finish("vm:the VM went away during its claim", 125);
    /* Then its ask for the host's clock (vm_channel.h), answered at once. */
    static const char ask[] = VMC_CLOCK_ASK;
    vmc_frame_t f;
    char got[sizeof ask], clock[32];
    int rc = vmc_read_header(v->chan, &f);
    if (rc == -1)
        finish("vm:the VM stopped after its claim (its console is in the log)", 125);
    if (rc < 0 || f.type != VMC_DATA || f.stream != 0 || f.len != sizeof ask - 1 ||
        vmc_read_full(v->chan, got, f.len) < 0 || memcmp(got, ask, f.len))
        finish("vm:the guest broke the channel's framing", 125);
    clock_gettime(CLOCK_REALTIME, &now);
    int k = snprintf(clock, sizeof clock, "%lld", (long long)now.tv_sec * 1000000000 + now.tv_nsec);
    if (vmc_send(v->chan, VMC_DATA, 0, clock, (uint32_t)k) < 0)
        finish("vm:the VM went away during its claim", 125);
}

/* ---- the bridge ---- */

static vmc_conns_t conns; /* the guest's streams, each a connection to the Runtime API */

static int connect_api(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        close(s);
        return -1;
    }
    return s;
}

/* A frame from the guest; -1 when it is not one the guest may send. */
static int take_frame(vmm_t *v, const vmc_frame_t *f)
{
    int i = vmc_conn_of(&conns, f->stream);
    if (f->stream == 0) {
        /* After the claim, the guest's words on stream 0: the runtime's
         * memory before each result (to the daemon, for the call's REPORT;
         * dropped when the daemon has not taken the ones before), and its
         * report at the end. */
        int st, end = 0;
        long oom;
        long long peak;
        char text[64];
        if (f->type != VMC_DATA || v->report_status >= 0 || f->len >= sizeof text)
            return -1;
        memcpy(text, f->payload, f->len);
        text[f->len] = '\0';
        if (sscanf(text, "memory_peak=%lld\n%n", &peak, &end) == 1 && end == (int)f->len && peak >= 0) {
            char note[40];
            int k = snprintf(note, sizeof note, "mem:%lld", peak);
            send(CTL, note, (size_t)k, MSG_DONTWAIT | MSG_NOSIGNAL);
            return 0;
        }
        end = 0;
        if (sscanf(text, "status=%d oom_kills=%ld\n%n", &st, &oom, &end) != 2 || end != (int)f->len || st < 0)
            return -1;
        v->report_status = st;
        v->oom_kills = oom;
        return 0;
    }
    if (f->type == VMC_OPEN) {
        if (i >= 0 || conns.n == VMC_CONNS_MAX)
            return -1;
        int s = connect_api(v->api_path);
        if (s < 0)
            return vmc_send(v->chan, VMC_CLOSE, f->stream, NULL, 0);
        conns.conn[conns.n].fd = s;
        conns.conn[conns.n++].stream = f->stream;
    } else if (f->type == VMC_DATA && i >= 0) {
        if (vmc_write_all(conns.conn[i].fd, f->payload, f->len) < 0) {
            vmc_conn_drop(&conns, i);
            return vmc_send(v->chan, VMC_CLOSE, f->stream, NULL, 0);
        }
    } else if (f->type == VMC_CLOSE && i >= 0) {
        vmc_conn_drop(&conns, i);
    }
    return 0; /* DATA or CLOSE of a stream already closed here: crossed in flight */
}

/* Until the channel ends (the VM powered off, crashed or was killed).
 * False when the guest broke the framing. */
static bool bridge(vmm_t *v)
{
    static uint8_t in[2 * (VMC_HEADER + VMC_PAYLOAD_MAX)], data[VMC_PAYLOAD_MAX];
    size_t in_len = 0;
    for (;;) {
        struct pollfd p[VMC_CONNS_MAX + 1] = {{.fd = v->chan, .events = POLLIN}};
        uint16_t polled[VMC_CONNS_MAX + 1]; /* each slot's stream: an fd number may be reused below */
        for (int i = 0; i < conns.n; i++) {
            p[1 + i] = (struct pollfd){.fd = conns.conn[i].fd, .events = POLLIN};
            polled[1 + i] = conns.conn[i].stream;
        }
        int nfds = 1 + conns.n;
        if (poll(p, (nfds_t)nfds, -1) < 0) {
            if (errno == EINTR)
                continue;
            return true;
        }
        if (p[0].revents) {
            ssize_t n = read(v->chan, in + in_len, sizeof in - in_len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return true;
            in_len += (size_t)n;
            size_t off = 0;
            vmc_frame_t f;
            int k;
            while ((k = vmc_parse(in + off, in_len - off, &f)) > 0) {
                if (take_frame(v, &f) < 0)
                    return false;
                off += (size_t)k;
            }
            if (k < 0)
                return false;
            memmove(in, in + off, in_len - off);
            in_len -= off;
        }
        /* Connections that were polled: a vmc_conn_drop above (a stream the
         * guest closed) may have moved one, and an OPEN reused its fd
         * number, so match fd and stream. */
        for (int i = conns.n - 1; i >= 0; i--) {
            int j = 1;
            while (j < nfds && (p[j].fd != conns.conn[i].fd || polled[j] != conns.conn[i].stream))
                j++;
            if (j == nfds || !p[j].revents)
                continue;
            ssize_t n = read(conns.conn[i].fd, data, sizeof data);
            if (n > 0) {
                vmc_send(v->chan, VMC_DATA, conns.conn[i].stream, data, (uint32_t)n);
            } else if (!(n < 0 && errno == EINTR)) {
                vmc_send(v->chan, VMC_CLOSE, conns.conn[i].stream, NULL, 0);
                vmc_conn_drop(&conns, i);
            }
        }
    }
}

/* The daemon's go (microvm.c's go_message): the runtime's argv and env,
 * the guest's network, and the tap with it when the function has egress. */
static int take_go(vmm_t *v)
{
    enum { GO_MAX = 256 << 10 };
    char *m = malloc(GO_MAX);
    int nfds = 0;
    ssize_t n = m ? recv_with_fds(CTL, m, GO_MAX, 0, &v->tap, 1, &nfds) : -1;
    if (nfds == 0)
        v->tap = -1;
    /* Out of the way of SAVED_RAM and SAVED_FILE, which the daemon may not
     * have passed (a boot; a RAM still being copied). */
    int high = nfds ? fcntl(v->tap, F_DUPFD_CLOEXEC, 64) : -1;
    if (nfds)
        close(v->tap);
    if (nfds && (v->tap = high) < 0)
        return -1;
    if (n < 3 || m[0] != 'g' || m[n - 1] != '\0')
        return -1;
    char **lists[2];
    size_t off = 1;
    for (int pass = 0; pass < 2; pass++) {
        size_t count = 0;
        for (size_t o = off; o < (size_t)n && m[o]; o += strlen(m + o) + 1)
            count++;
        char **l = lists[pass] = calloc(count + 1, sizeof *l);
        for (size_t i = 0; l && i < count; i++, off += strlen(m + off) + 1)
            l[i] = m + off;
        if (!l || off >= (size_t)n)
            return -1;
        off++; /* the empty string */
    }
    v->argv = lists[0];
    v->env = lists[1];
    v->net = off < (size_t)n ? m + off : "";
    return v->argv[0] ? 0 : -1;
}

/* The saved VM's RAM when the daemon was still copying it as this VM was
 * spawned (microvm_ram.c): "r" with its memfd, at SAVED_RAM; -1 (a boot)
 * when it could not be copied. */
static int await_ram(void)
{
    char m;
    int fd, n;
    ssize_t got = recv_with_fds(CTL, &m, 1, 0, &fd, 1, &n);
    if (got != 1 || m != 'r' || n != 1) {
        if (n == 1)
            close(fd);
        say("the saved VM's memory did not come from the daemon: this VM boots");
        return -1;
    }
    int rc = move_fd(fd, SAVED_RAM);
    if (fd != SAVED_RAM)
        close(fd);
    return rc < 0 ? -1 : SAVED_RAM;
}

/* impuls __microvm VM_DIR SNAPSHOT API_PATH UID VM_MB/TMP_MB/PIDS/PRESTART TASK_DIR */
int microvm_vmm_main(int argc, char **argv)
{
    if (argc != 8 || fcntl(CTL, F_GETFD) < 0 || fcntl(LOG, F_GETFD) < 0) {
        fprintf(stderr, "impuls: %s is the daemon's own command for a microVM, not one to run\n", MICROVM_VMM_COMMAND);
        return 2;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    signal(SIGPIPE, SIG_IGN);
    vmm_t v = {.vm_dir = argv[2], .snapshot = argv[3], .api_path = argv[4], .uid = (uid_t)atol(argv[5]),
               .task_dir = argv[7], .report_status = -1, .qmp = -1, .ram = -1, .snap = -1, .tap = -1};
    if (sscanf(argv[6], "%d/%d/%d/%d", &v.memory_mb, &v.tmp_mb, &v.pids_max, &v.prestart) != 4 ||
        take_go(&v) < 0) /* in its cgroup now, and QEMU will be */
        return 2;
    /* A restore when the saved VM's RAM and its file came (microvm_ram.c):
     * the devices' state is after the RAM; it marks the file as used
     * (microvm_keep_recent_snapshots). Else, or when QEMU cannot restore
     * it, a boot. */
    off_t ram_len = (off_t)v.memory_mb << 20;
    v.ram = fcntl(SAVED_RAM, F_GETFD) < 0 ? -1 : SAVED_RAM;
    v.snap = fcntl(SAVED_FILE, F_GETFD) < 0 ? -1 : SAVED_FILE;
    if (v.snap >= 0 && v.ram < 0)
        v.ram = await_ram();
    v.restoring = v.ram >= 0 && v.snap >= 0 && lseek(v.snap, ram_len, SEEK_SET) == ram_len;
    if (v.restoring)
        utimensat(AT_FDCWD, v.snapshot, NULL, 0);
    if (!v.restoring || !restore_saved(&v)) {
        if (v.snap >= 0) /* (start_qemu closed them when it ran) */
            close(v.snap);
        if (v.ram >= 0)
            close(v.ram);
        boot_and_save(&v);
    }
    send_claim(&v);
    bool framed = bridge(&v);
    if (!framed) {
        say("the guest broke the channel's framing: the VM is stopped");
        kill(v.qemu, SIGKILL);
    }
    int status;
    while (waitpid(v.qemu, &status, 0) < 0 && errno == EINTR)
        ;
    if (!framed)
        finish("vm:the guest broke the channel's framing", 125);
    if (v.report_status >= 0) {
        int st = v.report_status;
        finish(v.oom_kills > 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? "oom" : NULL,
               WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st));
    }
    char note[200];
    if (WIFSIGNALED(status))
        snprintf(note, sizeof note, "vm:QEMU was killed (%s)", strsignal(WTERMSIG(status)));
    else
        snprintf(note, sizeof note, "vm:the VM stopped before its runtime ended (QEMU exit status %d; "
                                    "the guest's console is in the log)", WEXITSTATUS(status));
    finish(note, 125);
}
