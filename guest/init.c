/* The microVM guest's init (pid 1 of the VM), static, in the initramfs that
 * scripts/microvm-guest.sh builds beside Debian's kernel:
 *
 *   mount /proc, /sys, /dev, a /tmp; bring up lo; load the virtio modules
 *   the kernel has as modules (/modules/order, in dependency order); find
 *   the virtio-serial port the host named "impuls.0" (/sys/class/virtio-ports);
 *   listen on 127.0.0.1:9001; take the claim (its code, environment and,
 *   with egress, eth0's address); start the runtime (/var/task/bootstrap,
 *   as uid RUNTIME_UID); carry each of its connections to 9001 over the
 *   port (src/sandbox/vm_channel.h's frames) to the daemon's Runtime API.
 *
 * The VM powers off when the runtime exits or the host closes the channel:
 * either way the instance is over. Anything wrong is said on the console
 * (ttyS0) and the VM powers off: pid 1 never returns. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <grp.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "claim.h"
#include "sandbox/vm_channel.h"

#define PORT_NAME "impuls.0"
/* Optional: the runtime's stdout and stderr (else the console). */
#define LOG_PORT_NAME "impuls.log"
/* Optional: the runtimes, a read-only squashfs (scripts/microvm-guest.sh)
 * mounted at /usr, with /var/runtime in it. */
#define RUNTIMES_DISK "/dev/vda"
/* The runtime is not root in the guest: root there could crash the guest's
 * kernel (sysrq) or rewrite init's view; the VM is its boundary, this is
 * depth. */
#define RUNTIME_UID 1000
#define API_PORT 9001

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("impuls-guest: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void __attribute__((noreturn)) power_off(void)
{
    sync();
    reboot(RB_POWER_OFF);
    for (;;)
        pause();
}

static void __attribute__((noreturn)) fail(const char *what)
{
    say("%s: %s", what, strerror(errno));
    power_off();
}

static long pids_max, memory_mb;
static void mount_or_fail(const char *src, const char *dst, const char *type, unsigned long flags)
{
    mkdir(dst, 0755);
    if (mount(src, dst, type, flags, NULL) < 0)
        fail(dst);
}

/* The runtime's cgroup: its memory is watched there (memory_watch). */
#define RUNTIME_CG "/sys/fs/cgroup/runtime"
static bool killed_for_memory;

static bool write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    if (fd >= 0)
        close(fd);
    return ok;
}

/* A cgroup for the runtime and whatever it starts. memory_mb is the
 * function's: the VM has more for its kernel, init and page cache
 * (MICROVM_GUEST_OVERHEAD_MB). Without swap, the kernel's OOM killer comes
 * late to a runtime that fills the memory: it first evicts and reads back
 * the runtime's own code pages (thrashing, minutes under TCG). So init
 * watches the cgroup's anonymous memory and ends the runtime once it passes
 * memory_mb; memory.max (96 MiB above, room for its code's pages) is the
 * kernel's backstop against an allocation faster than the watch. */
static void runtime_cgroup(void)
{
    char limit[32];
    mount_or_fail("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    if (!write_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory") || mkdir(RUNTIME_CG, 0755) < 0)
        fail("the runtime's cgroup");
    snprintf(limit, sizeof limit, "%ld", (memory_mb + 96) << 20);
    if (memory_mb > 0 && !write_file(RUNTIME_CG "/memory.max", limit))
        fail("the runtime's memory.max");
}

static long long anon_peak; /* the most anonymous memory the runtime was seen with */

/* The runtime's anonymous memory past memory_mb: every process in its
 * cgroup killed (the runtime's death is then reported as an OOM kill). */
static void memory_watch(void)
{
    FILE *f = fopen(RUNTIME_CG "/memory.stat", "r");
    char line[128];
    long long anon = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "anon %lld", &anon) == 1)
            break;
    if (f)
        fclose(f);
    if (anon > anon_peak)
        anon_peak = anon;
    if (memory_mb <= 0 || killed_for_memory)
        return;
    if (anon > (long long)memory_mb << 20) {
        killed_for_memory = true;
        say("the runtime's memory passed %ld MiB: ending it", memory_mb);
        write_file(RUNTIME_CG "/cgroup.kill", "1");
    }
}

/* NAME=a,b,c from the kernel's command line into out (at most max,
 * NULL-ended, in memory that stays); false when absent or empty. */
static bool cmdline_list(const char *name, char **out, int max)
{
    static char line[1024];
    FILE *f = fopen("/proc/cmdline", "r");
    bool got = f && fgets(line, sizeof line, f);
    if (f)
        fclose(f);
    char *p = got ? strstr(line, name) : NULL;
    if (!p)
        return false;
    p += strlen(name);
    p[strcspn(p, " \n")] = '\0';
    int n = 0;
    for (char *tok = strtok(p, ","); tok && n < max; tok = strtok(NULL, ","))
        out[n++] = tok;
    out[n] = NULL;
    return n > 0;
}

/* NAME=N from the kernel's command line, or dflt. */
static long cmdline_number(const char *name, long dflt)
{
    char line[1024];
    FILE *f = fopen("/proc/cmdline", "r");
    bool got = f && fgets(line, sizeof line, f);
    if (f)
        fclose(f);
    const char *p = got ? strstr(line, name) : NULL;
    long v = p ? strtol(p + strlen(name), NULL, 10) : 0;
    return v > 0 ? v : dflt;
}

/* Each line of /modules/order names a .ko in /modules, dependencies first. */
static void load_modules(void)
{
    FILE *f = fopen("/modules/order", "r");
    if (!f)
        return; /* a kernel with the drivers built in */
    char name[256], path[300];
    while (fgets(name, sizeof name, f)) {
        name[strcspn(name, "\n")] = '\0';
        if (!name[0])
            continue;
        snprintf(path, sizeof path, "/modules/%s", name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST))
            fail(path);
        close(fd);
    }
    fclose(f);
}

/* The runtimes' disk, when the VM has one, becomes /usr (and with it /bin,
 * /lib and /lib64, links as on a merged-/usr system; /var/runtime in it). */
static void mount_runtimes(void)
{
    struct stat st;
    if (stat("/sys/block/vda", &st) < 0)
        return;
    for (int tries = 0; stat(RUNTIMES_DISK, &st) < 0; tries++) {
        if (tries == 100)
            fail(RUNTIMES_DISK);
        usleep(10000);
    }
    mount_or_fail(RUNTIMES_DISK, "/usr", "squashfs", MS_RDONLY | MS_NOSUID | MS_NODEV);
    static const char *const links[][2] = {{"usr/bin", "/bin"}, {"usr/sbin", "/sbin"}, {"usr/lib", "/lib"},
                                           {"usr/lib64", "/lib64"}, {"/usr/lib/impuls/runtime", "/var/runtime"}};
    mkdir("/var", 0755);
    for (size_t i = 0; i < sizeof links / sizeof *links; i++)
        if (symlink(links[i][0], links[i][1]) < 0 && errno != EEXIST)
            fail(links[i][1]);
}

/* A port's device, /dev/vportNpM, found by the name the host gave it. The
 * driver binds as the module loads, but the ports appear once the host side
 * has been negotiated: wait for the channel, a bounded time (tries 500);
 * the others come with it. -1 when there is no such port. */
static int open_port(const char *want, int tries_left)
{
    char path[300], name[64];
    size_t wlen = strlen(want);
    for (; tries_left > 0; tries_left--) {
        DIR *d = opendir("/sys/class/virtio-ports");
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
            FILE *f = fopen(path, "r");
            if (!f)
                continue;
            bool match = fgets(name, sizeof name, f) && !strncmp(name, want, wlen) &&
                         (name[wlen] == '\n' || !name[wlen]);
            fclose(f);
            if (match) {
                snprintf(path, sizeof path, "/dev/%s", e->d_name);
                closedir(d);
                int fd = open(path, O_RDWR | O_CLOEXEC);
                if (fd < 0)
                    fail(path);
                return fd;
            }
        }
        if (d)
            closedir(d);
        if (tries_left > 1)
            usleep(10000);
    }
    return -1;
}

/* A frame to the host; the VM is over when the channel is. */
static void put_frame(int chan, uint8_t type, uint16_t stream, const void *data, uint32_t len)
{
    if (vmc_send(chan, type, stream, data, len) < 0)
        fail("write to the channel");
}

static void lo_up(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        fail("lo");
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        fail("bring up lo");
    close(fd);
}

/* The claim's network (claim.h): with egress, eth0 (the VM's NIC, whose
 * host end is a tap device of the daemon's) up at INNER/31 with its default
 * route through GATEWAY, the tap's address; and the resolv.conf the
 * namespace sandboxes get. Without, eth0 stays down: its backend on the
 * host leads nowhere anyway. The runtime is not root: it cannot change
 * either. */
static void net_up(const char *net)
{
    const char *nl = strchr(net, '\n');
    char inner_s[16], gateway_s[16], rest;
    struct in_addr inner, gateway;
    size_t n = nl ? (size_t)(nl - net) : strlen(net);
    if (n > 0) {
        char line[64];
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), net);
        if (sscanf(line, "%15s %15s %c", inner_s, gateway_s, &rest) != 2 || inet_pton(AF_INET, inner_s, &inner) != 1 ||
            inet_pton(AF_INET, gateway_s, &gateway) != 1) {
            errno = EINVAL;
            fail("the claim's network");
        }
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = {0};
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "eth0");
        struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
        sin->sin_family = AF_INET;
        sin->sin_addr = inner;
        if (fd < 0 || ioctl(fd, SIOCSIFADDR, &ifr) < 0)
            fail("eth0's address");
        sin->sin_addr.s_addr = htonl(0xfffffffe);
        if (ioctl(fd, SIOCSIFNETMASK, &ifr) < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
            fail("eth0's netmask");
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
            fail("bring up eth0");
        struct rtentry rt = {.rt_flags = RTF_UP | RTF_GATEWAY};
        ((struct sockaddr_in *)&rt.rt_dst)->sin_family = AF_INET;
        ((struct sockaddr_in *)&rt.rt_genmask)->sin_family = AF_INET;
        ((struct sockaddr_in *)&rt.rt_gateway)->sin_family = AF_INET;
        ((struct sockaddr_in *)&rt.rt_gateway)->sin_addr = gateway;
        if (ioctl(fd, SIOCADDRT, &rt) < 0)
            fail("eth0's default route");
        close(fd);
    }
    const char *resolv = nl ? nl + 1 : "";
    if (*resolv) {
        mkdir("/etc", 0755);
        int fd = open("/etc/resolv.conf", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, resolv, strlen(resolv)) != (ssize_t)strlen(resolv) || close(fd) < 0)
            fail("/etc/resolv.conf");
    }
}

static int listen_api(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(API_PORT),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0)
        fail("listen on 127.0.0.1:9001");
    return fd;
}

/* The runtime's environment: the claim's first (getenv takes the first of
 * a name), then the defaults every instance has. */
static pid_t start_runtime(char **claim_env, char **claim_argv, int log_fd, int claim_fd)
{
    static char *base[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "TZ=:UTC", "HOME=/tmp",
                           "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001", "LAMBDA_TASK_ROOT=/var/task",
                           "LAMBDA_RUNTIME_DIR=/var/runtime", NULL};
    static char *envp[CLAIM_ENV_MAX + sizeof base / sizeof *base + 1];
    int n = 0;
    for (char **e = claim_env; e && *e; e++)
        envp[n++] = *e;
    for (char **e = base; *e; e++)
        envp[n++] = *e;
    if (claim_fd >= 0)
        envp[n++] = "IMPULS_CLAIM_FD=3";
    envp[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        fail("fork");
    if (pid == 0) {
        static char *own[] = {"/var/task/bootstrap", NULL};
        char **argv = claim_argv && claim_argv[0] ? claim_argv : own;
        if ((log_fd >= 0 && (dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)) || (claim_fd >= 0 && dup2(claim_fd, 3) < 0))
            _exit(126);
        /* (The child says why and exits: only pid 1 powers the VM off.) */
        struct rlimit nproc = {(rlim_t)pids_max, (rlim_t)pids_max};
        if (!write_file(RUNTIME_CG "/cgroup.procs", "0") || chdir("/var/task") < 0 ||
            setrlimit(RLIMIT_NPROC, &nproc) < 0 || setgroups(0, NULL) < 0 || setgid(RUNTIME_UID) < 0 ||
            setuid(RUNTIME_UID) < 0) {
            say("the runtime's uid: %s", strerror(errno));
            _exit(126);
        }
        execve(argv[0], argv, envp);
        say("%s: %s", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

/* A guest with no code of its own waits for its claim: it says so with an
 * OPEN of stream 0 (the point a generic VM is saved at), then takes the
 * function's code into a fresh /var/task and its environment. */
static void make_task_dir(void)
{
    mkdir("/var", 0755);
    mount_or_fail("task", "/var/task", "tmpfs", MS_NOSUID | MS_NODEV);
    chmod("/var/task", 0755);
}

/* The clock to the host's, never behind it: the claim's clock came one
 * way, and a just-restored guest under emulation takes tens of ms to take
 * it in (every code path translated anew), so the guest would lag the
 * host's deadlines. Asked now (those paths warm): the host's answer T was
 * read between the ask and the answer, so at the answer the time is in
 * [T, T + the round trip]; the guest takes the top of it. */
static void sync_clock(int chan)
{
    static const char ask[] = VMC_CLOCK_ASK;
    struct timespec sent, got;
    vmc_frame_t f;
    char text[32];
    clock_gettime(CLOCK_MONOTONIC, &sent);
    put_frame(chan, VMC_DATA, 0, ask, sizeof ask - 1);
    if (vmc_read_header(chan, &f) < 0 || f.type != VMC_DATA || f.stream != 0 || f.len == 0 ||
        f.len >= sizeof text || vmc_read_full(chan, text, f.len) < 0) {
        say("the host did not answer with its clock");
        power_off();
    }
    clock_gettime(CLOCK_MONOTONIC, &got);
    text[f.len] = '\0';
    long long host = atoll(text), rtt = (got.tv_sec - sent.tv_sec) * 1000000000LL + (got.tv_nsec - sent.tv_nsec);
    long long at = host + rtt;
    struct timespec now = {.tv_sec = at / 1000000000, .tv_nsec = at % 1000000000};
    if (host <= 0 || clock_settime(CLOCK_REALTIME, &now) < 0)
        say("cannot set the clock to the host's (%s): it stays the claim's", text);
}

static char **await_claim(int chan, char ***argv_out)
{
    static char *env[CLAIM_ENV_MAX + 1], *argv[CLAIM_ARGV_MAX + 1];
    char why[512];
    put_frame(chan, VMC_OPEN, 0, NULL, 0);
    long long clock_ns;
    char *net;
    if (claim_receive(chan, "/var/task", &clock_ns, env, argv, &net, why, sizeof why) < 0) {
        say("the claim: %s", why);
        power_off();
    }
    sync_clock(chan);
    net_up(net);
    *argv_out = argv;
    return env;
}

/* A pre-started runtime (impuls.prestart= on the kernel's command line: a
 * generic VM of one language is saved with its interpreter loaded) waits on
 * fd 3 for its claim, as a pre-made sandbox's does (runtimes/nodejs,
 * runtimes/python: IMPULS_CLAIM_FD): it is ready to be saved once it is
 * blocked reading fd 3 (its /proc/PID/syscall: read, pread64 or readv on
 * fd 3). False when it ended first or took too long. */
static bool wait_until_blocked_on_claim(pid_t pid)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    for (int tries = 0; tries < 6000; tries++) { /* 60 s: an interpreter's start under TCG on a busy host */
        FILE *f = fopen(path, "r");
        bool got = f && fgets(line, sizeof line, f);
        if (f)
            fclose(f);
        if (!got)
            return false; /* it is gone */
        if (!strncmp(line, "0 0x3 ", 6) || !strncmp(line, "17 0x3 ", 7) || !strncmp(line, "19 0x3 ", 7))
            return true;
        usleep(10000);
    }
    return false;
}

/* s as a JSON string into out (at most len bytes, NUL-ended); false when it
 * does not fit. */
static bool json_string(const char *s, size_t n, char *out, size_t len)
{
    size_t o = 0;
    if (len < 3)
        return false;
    out[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        int k = c == '"' || c == '\\' ? snprintf(esc, sizeof esc, "\\%c", c)
                : c < 0x20           ? snprintf(esc, sizeof esc, "\\u%04x", c)
                                     : snprintf(esc, sizeof esc, "%c", c);
        if (o + (size_t)k + 2 > len)
            return false;
        memcpy(out + o, esc, (size_t)k);
        o += (size_t)k;
    }
    out[o++] = '"';
    out[o] = '\0';
    return true;
}

/* The claim's environment (and the base entries it does not set) as the
 * JSON object a pre-started runtime reads from fd 3, then its end. */
static void hand_claim(int fd, char **claim_env)
{
    static char *base[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "TZ=:UTC", "HOME=/tmp",
                           "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001", "LAMBDA_TASK_ROOT=/var/task",
                           "LAMBDA_RUNTIME_DIR=/var/runtime", NULL};
    static char json[CLAIM_JSON_MAX], key[8192], val[CLAIM_JSON_MAX / 2];
    size_t o = 0;
    json[o++] = '{';
    for (int pass = 0; pass < 2; pass++)
        for (char **e = pass ? base : claim_env; e && *e; e++) {
            const char *eq = strchr(*e, '=');
            size_t klen = (size_t)(eq - *e);
            bool seen = false;
            for (char **c = claim_env; pass && c && *c && !seen; c++)
                seen = !strncmp(*c, *e, klen + 1);
            if (seen)
                continue;
            if (!json_string(*e, klen, key, sizeof key) || !json_string(eq + 1, strlen(eq + 1), val, sizeof val) ||
                o + strlen(key) + strlen(val) + 3 > sizeof json) {
                say("the claim's environment is too large for a pre-started runtime");
                power_off();
            }
            o += (size_t)sprintf(json + o, "%s%s:%s", o > 1 ? "," : "", key, val);
        }
    json[o++] = '}';
    vmc_write_all(fd, json, o); /* a failure: the runtime ended, which the bridge reports */
    close(fd);
}

/* The guest's connections to 127.0.0.1:9001, each a stream of the channel. */
static vmc_conns_t conns;
static uint16_t next_stream = 1;

/* Frames from the host: a connection's bytes, or its end. */
static int take_frames(uint8_t *buf, size_t *len)
{
    size_t off = 0;
    for (;;) {
        vmc_frame_t f;
        int n = vmc_parse(buf + off, *len - off, &f);
        if (n < 0) {
            say("a malformed frame from the host");
            return -1;
        }
        if (n == 0)
            break;
        int i = vmc_conn_of(&conns, f.stream);
        if (i >= 0 && f.type == VMC_DATA) {
            /* A failure: the runtime went away from it, and its CLOSE follows. */
            vmc_write_all(conns.conn[i].fd, f.payload, f.len);
        } else if (i >= 0 && f.type == VMC_CLOSE) {
            vmc_conn_drop(&conns, i);
        }
        off += (size_t)n;
    }
    memmove(buf, buf + off, *len - off);
    *len -= off;
    return 0;
}

/* The kernel's count of OOM kills so far (/proc/vmstat). */
static long oom_kills(void)
{
    FILE *f = fopen("/proc/vmstat", "r");
    char line[128];
    long n = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "oom_kill %ld", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

/* How the runtime ended, for the host (vm_channel.h: the guest's report). */
static void report_exit(int chan, int status)
{
    char r[96];
    int n = snprintf(r, sizeof r, "status=%d oom_kills=%ld\n", status, oom_kills() + killed_for_memory);
    say("the runtime ended (%.*s)", n - 1, r);
    put_frame(chan, VMC_DATA, 0, r, (uint32_t)n);
}

/* Whether the runtime's bytes to the Runtime API start a call's result
 * (POST .../invocation/<id>/response or /error). */
static bool posts_a_result(const uint8_t *data, size_t n)
{
    const uint8_t *eol = memchr(data, '\n', n);
    size_t line = eol ? (size_t)(eol - data) : n;
    return line > 5 && !memcmp(data, "POST ", 5) && memmem(data, line, "/invocation/", 12) &&
           (memmem(data, line, "/response ", 10) || memmem(data, line, "/error ", 7));
}

/* The runtime's memory for the call's REPORT (vm_channel.h), sent before
 * its result, so that the host has it when the result reaches the daemon. */
static void report_memory(int chan)
{
    char r[64];
    memory_watch();
    int n = snprintf(r, sizeof r, "memory_peak=%lld\n", anon_peak);
    put_frame(chan, VMC_DATA, 0, r, (uint32_t)n);
}

static void bridge(int chan, int lfd, pid_t runtime)
{
    static uint8_t in[2 * (VMC_HEADER + VMC_PAYLOAD_MAX)], data[VMC_PAYLOAD_MAX];
    size_t in_len = 0;
    for (;;) {
        int status;
        if (waitpid(-1, &status, WNOHANG) == runtime) {
            report_exit(chan, status);
            return;
        }
        memory_watch();
        struct pollfd p[VMC_CONNS_MAX + 2] = {{.fd = chan, .events = POLLIN}, {.fd = lfd, .events = POLLIN}};
        for (int i = 0; i < conns.n; i++)
            p[2 + i] = (struct pollfd){.fd = conns.conn[i].fd, .events = POLLIN};
        int nfds = 2 + conns.n;
        if (poll(p, (nfds_t)nfds, 100) < 0 && errno != EINTR)
            fail("poll");
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(chan, in + in_len, sizeof in - in_len);
            if (n <= 0 && !(n < 0 && errno == EINTR))
                return; /* the host closed the channel */
            if (n > 0) {
                in_len += (size_t)n;
                if (take_frames(in, &in_len) < 0)
                    return;
            }
        }
        for (int i = conns.n - 1; i >= 0; i--) {
            if (!(p[2 + i].revents & (POLLIN | POLLHUP | POLLERR)) || p[2 + i].fd != conns.conn[i].fd)
                continue;
            ssize_t n = read(conns.conn[i].fd, data, sizeof data);
            if (n > 0) {
                if (posts_a_result(data, (size_t)n))
                    report_memory(chan);
                put_frame(chan, VMC_DATA, conns.conn[i].stream, data, (uint32_t)n);
            } else if (!(n < 0 && errno == EINTR)) {
                put_frame(chan, VMC_CLOSE, conns.conn[i].stream, NULL, 0);
                vmc_conn_drop(&conns, i);
            }
        }
        if (p[1].revents & POLLIN) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0 && conns.n == VMC_CONNS_MAX) {
                close(fd); /* more than any runtime opens at once */
            } else if (fd >= 0) {
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                /* Ids wrap: never 0 (the guest's own), never one still open. */
                while (next_stream == 0 || vmc_conn_of(&conns, next_stream) >= 0)
                    next_stream++;
                conns.conn[conns.n].fd = fd;
                conns.conn[conns.n].stream = next_stream++;
                put_frame(chan, VMC_OPEN, conns.conn[conns.n].stream, NULL, 0);
                conns.n++;
            }
        }
    }
}

int main(void)
{
    if (getpid() != 1) {
        fprintf(stderr, "impuls-guest: the microVM's init, not a program to run\n");
        return 2;
    }
    mount_or_fail("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    mount_or_fail("sys", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    mount_or_fail("dev", "/dev", "devtmpfs", MS_NOSUID);
    mount_or_fail("tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV);
    /* The daemon's limits, on the kernel's command line: /tmp's size (a
     * full one must not take the guest's memory) and the runtime's
     * processes (a fork bomb stops there). */
    long tmp_mb = cmdline_number("impuls.tmp_mb=", 64);
    pids_max = cmdline_number("impuls.pids_max=", 256);
    memory_mb = cmdline_number("impuls.memory_mb=", 0);
    char opts[64];
    snprintf(opts, sizeof opts, "size=%ldm,mode=1777", tmp_mb);
    if (mount("tmp", "/tmp", "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV, opts) < 0)
        fail("/tmp");
    runtime_cgroup();
    signal(SIGPIPE, SIG_IGN);
    lo_up();
    load_modules();
    mount_runtimes();
    int chan = open_port(PORT_NAME, 500);
    if (chan < 0) {
        errno = ENOENT;
        fail("the virtio-serial port " PORT_NAME);
    }
    int log_fd = open_port(LOG_PORT_NAME, 1);
    int lfd = listen_api();
    struct stat st;
    char **env = NULL, **argv = NULL;
    static char *prestart[CLAIM_ARGV_MAX + 1];
    pid_t runtime;
    if (stat("/var/task/bootstrap", &st) == 0) {
        runtime = start_runtime(NULL, NULL, log_fd, -1); /* booted with its code */
    } else if (cmdline_list("impuls.prestart=", prestart, CLAIM_ARGV_MAX)) {
        int claim[2];
        make_task_dir();
        if (pipe2(claim, O_CLOEXEC) < 0)
            fail("pipe");
        runtime = start_runtime(NULL, prestart, log_fd, claim[0]);
        close(claim[0]);
        if (!wait_until_blocked_on_claim(runtime)) {
            int status = 0;
            say("the pre-started runtime did not come to wait for its claim");
            kill(runtime, SIGKILL);
            waitpid(runtime, &status, 0);
            report_exit(chan, status);
            power_off();
        }
        env = await_claim(chan, &argv); /* its command: the one started */
        hand_claim(claim[1], env);
    } else {
        make_task_dir();
        env = await_claim(chan, &argv);
        runtime = start_runtime(env, argv, log_fd, -1);
    }
    bridge(chan, lfd, runtime);
    say("the instance is over: powering off");
    power_off();
}
