/* The microVM guest's init (pid 1 of the VM), static, in the initramfs that
 * scripts/microvm-guest.sh builds beside Debian's kernel:
 *
 *   mount /proc, /sys, /dev; load the virtio modules the kernel has as
 *   modules (the initramfs's /modules/order, in dependency order); find the
 *   virtio-serial port the host named "impuls.0" (/sys/class/virtio-ports);
 *   serve it; power the VM off when the host closes it.
 *
 * This first step serves the channel line by line (what tests/microvm
 * checks: the guest boots, the drivers load, the channel carries data both
 * ways): "ping" -> "pong <kernel release>", "uid" -> the uid init runs as,
 * "quit" -> power off. The Runtime API bridge comes on top of this channel.
 * Anything wrong is said on the console (ttyS0) and the VM powers off:
 * pid 1 never returns. */
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
#include <sys/utsname.h>
#include <unistd.h>

#define PORT_NAME "impuls.0"

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

static void put(int fd, const char *text)
{
    size_t n = strlen(text);
    while (n > 0) {
        ssize_t w = write(fd, text, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            fail("write to the channel");
        text += w;
        n -= (size_t)w;
    }
}

static void serve_lines(int fd)
{
    struct utsname u;
    uname(&u);
    char line[512], out[600];
    size_t len = 0;
    put(fd, "ready\n");
    for (;;) {
        ssize_t n = read(fd, line + len, sizeof line - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* the host closed the channel */
        len += (size_t)n;
        line[len] = '\0';
        char *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = '\0';
            if (!strcmp(line, "ping"))
                snprintf(out, sizeof out, "pong %s\n", u.release);
            else if (!strcmp(line, "uid"))
                snprintf(out, sizeof out, "uid %d\n", (int)getuid());
            else if (!strcmp(line, "quit"))
                return;
            else
                snprintf(out, sizeof out, "unknown %.500s\n", line);
            put(fd, out);
            len -= (size_t)(nl + 1 - line);
            memmove(line, nl + 1, len + 1);
        }
        if (len == sizeof line - 1)
            len = 0; /* a line too long for any command: dropped */
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
    load_modules();
    int fd = open_port();
    serve_lines(fd);
    say("the channel is closed: powering off");
    power_off();
}
