/* The microVM guest's init (pid 1 of the VM), static, in the initramfs that
 * scripts/microvm-guest.sh builds beside Debian's kernel:
 *
 *   mount /proc, /sys, /dev, a /tmp; bring up lo; load the virtio modules
 *   the kernel has as modules (/modules/order, in dependency order); find
 *   the virtio-serial port the host named "impuls.0" (/sys/class/virtio-ports);
 *   listen on 127.0.0.1:9001; start the runtime (/var/task/bootstrap, as
 *   uid RUNTIME_UID); carry each of its connections to 9001 over the port
 *   (src/sandbox/vm_channel.h's frames) to the daemon's Runtime API.
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <grp.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "claim.h"
#include "sandbox/vm_channel.h"

#define PORT_NAME "impuls.0"
/* The runtime is not root in the guest: root there could crash the guest's
 * kernel (sysrq) or rewrite init's view; the VM is its boundary, this is
 * depth. */
#define RUNTIME_UID 1000
#define API_PORT 9001
enum { MAX_CONNS = 64 };

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

static void mount_or_fail(const char *src, const char *dst, const char *type, unsigned long flags)
{
    mkdir(dst, 0755);
    if (mount(src, dst, type, flags, NULL) < 0)
        fail(dst);
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

/* The port's device, /dev/vportNpM, found by the name the host gave it. The
 * driver binds as the module loads, but the port appears once the host side
 * has been negotiated: wait for it, a bounded time. */
static int open_port(void)
{
    char path[300], name[64];
    for (int tries = 0; tries < 500; tries++) {
        DIR *d = opendir("/sys/class/virtio-ports");
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
            FILE *f = fopen(path, "r");
            if (!f)
                continue;
            bool match = fgets(name, sizeof name, f) && !strncmp(name, PORT_NAME, strlen(PORT_NAME)) &&
                         (name[strlen(PORT_NAME)] == '\n' || !name[strlen(PORT_NAME)]);
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
        usleep(10000);
    }
    errno = ENOENT;
    fail("the virtio-serial port " PORT_NAME);
}

static void put_all(int fd, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            fail("write to the channel");
        p += w;
        n -= (size_t)w;
    }
}

static void put_frame(int chan, uint8_t type, uint16_t stream, const void *data, uint32_t len)
{
    uint8_t h[VMC_HEADER];
    vmc_header(h, type, stream, len);
    put_all(chan, h, sizeof h);
    if (len)
        put_all(chan, data, len);
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
static pid_t start_runtime(char **claim_env)
{
    static char *base[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "TZ=:UTC", "HOME=/tmp",
                           "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001", "LAMBDA_TASK_ROOT=/var/task",
                           "LAMBDA_RUNTIME_DIR=/var/runtime", NULL};
    static char *envp[CLAIM_ENV_MAX + sizeof base / sizeof *base];
    int n = 0;
    for (char **e = claim_env; e && *e; e++)
        envp[n++] = *e;
    for (char **e = base; *e; e++)
        envp[n++] = *e;
    envp[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        fail("fork");
    if (pid == 0) {
        char *argv[] = {"/var/task/bootstrap", NULL};
        /* (The child says why and exits: only pid 1 powers the VM off.) */
        if (chdir("/var/task") < 0 || setgroups(0, NULL) < 0 || setgid(RUNTIME_UID) < 0 || setuid(RUNTIME_UID) < 0) {
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
static char **await_claim(int chan)
{
    static char *env[CLAIM_ENV_MAX + 1];
    char why[512];
    mkdir("/var", 0755);
    mount_or_fail("task", "/var/task", "tmpfs", MS_NOSUID | MS_NODEV);
    put_frame(chan, VMC_OPEN, 0, NULL, 0);
    if (claim_receive(chan, "/var/task", env, why, sizeof why) < 0) {
        say("the claim: %s", why);
        power_off();
    }
    chmod("/var/task", 0755);
    return env;
}

/* The guest's connections to 127.0.0.1:9001, each a stream of the channel. */
static struct {
    int fd;
    uint16_t stream;
} conns[MAX_CONNS];
static int n_conns;
static uint16_t next_stream = 1;

static void drop_conn(int i)
{
    close(conns[i].fd);
    conns[i] = conns[--n_conns];
}

static int conn_of(uint16_t stream)
{
    for (int i = 0; i < n_conns; i++)
        if (conns[i].stream == stream)
            return i;
    return -1;
}

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
        int i = conn_of(f.stream);
        if (i >= 0 && f.type == VMC_DATA) {
            const uint8_t *p = f.payload;
            size_t left = f.len;
            while (left > 0) {
                ssize_t w = write(conns[i].fd, p, left);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0)
                    break; /* the runtime went away from it: its CLOSE follows */
                p += w;
                left -= (size_t)w;
            }
        } else if (i >= 0 && f.type == VMC_CLOSE) {
            drop_conn(i);
        }
        off += (size_t)n;
    }
    memmove(buf, buf + off, *len - off);
    *len -= off;
    return 0;
}

static void bridge(int chan, int lfd, pid_t runtime)
{
    static uint8_t in[2 * (VMC_HEADER + VMC_PAYLOAD_MAX)], data[VMC_PAYLOAD_MAX];
    size_t in_len = 0;
    for (;;) {
        int status;
        if (waitpid(-1, &status, WNOHANG) == runtime) {
            say("the runtime ended (status %d)", status);
            return;
        }
        struct pollfd p[MAX_CONNS + 2] = {{.fd = chan, .events = POLLIN}, {.fd = lfd, .events = POLLIN}};
        for (int i = 0; i < n_conns; i++)
            p[2 + i] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
        int nfds = 2 + n_conns;
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
        for (int i = n_conns - 1; i >= 0; i--) {
            if (!(p[2 + i].revents & (POLLIN | POLLHUP | POLLERR)) || p[2 + i].fd != conns[i].fd)
                continue;
            ssize_t n = read(conns[i].fd, data, sizeof data);
            if (n > 0) {
                put_frame(chan, VMC_DATA, conns[i].stream, data, (uint32_t)n);
            } else if (!(n < 0 && errno == EINTR)) {
                put_frame(chan, VMC_CLOSE, conns[i].stream, NULL, 0);
                drop_conn(i);
            }
        }
        if (p[1].revents & POLLIN) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0 && n_conns == MAX_CONNS) {
                close(fd); /* more than any runtime opens at once */
            } else if (fd >= 0) {
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                conns[n_conns].fd = fd;
                conns[n_conns].stream = next_stream++;
                put_frame(chan, VMC_OPEN, conns[n_conns].stream, NULL, 0);
                n_conns++;
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
    chmod("/tmp", 01777);
    signal(SIGPIPE, SIG_IGN);
    lo_up();
    load_modules();
    int chan = open_port();
    int lfd = listen_api();
    struct stat st;
    char **env = stat("/var/task/bootstrap", &st) == 0 ? NULL : await_claim(chan);
    pid_t runtime = start_runtime(env);
    bridge(chan, lfd, runtime);
    say("the instance is over: powering off");
    power_off();
}
