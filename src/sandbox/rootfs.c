/* The sandbox's file system, built by its init inside a fresh mount namespace:
 * a tmpfs root with read-only binds of the system directories the runtimes
 * need, the code at /var/task, the runtimes at /var/runtime, a private /tmp,
 * a fresh /proc and a minimal /dev. Never /root, /home or the data dir.
 * The build sandbox (sandbox_spec_t's build fields) gets a writable
 * /var/task, a cache dir and the host's name resolution files as well. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "util/util.h"

#define RO_FLAGS (MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
#define RW_FLAGS (MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV)

static int fail(char *err, size_t errlen, const char *what, const char *path)
{
    snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
    return -1;
}

/* A bind of src at dst, read-only unless writable (builds only). */
static int bind_at(const char *src, const char *dst, bool is_dir, bool writable, char *err, size_t errlen)
{
    if (is_dir) {
        if (mkdir(dst, 0755) < 0 && errno != EEXIST)
            return fail(err, errlen, "mkdir", dst);
    } else {
        int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return fail(err, errlen, "create", dst);
        close(fd);
    }
    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
        return fail(err, errlen, "bind", src);
    if (mount(NULL, dst, NULL, writable ? RW_FLAGS : RO_FLAGS, NULL) < 0)
        return fail(err, errlen, writable ? "remount" : "remount read-only", dst);
    return 0;
}

static int bind_ro(const char *src, const char *dst, bool is_dir, char *err, size_t errlen)
{
    return bind_at(src, dst, is_dir, false, err, errlen);
}

/* Mirrors a top-level host entry: a symlink (merged /usr) or a directory. */
static int mirror(const char *name, char *err, size_t errlen)
{
    char host[256], dst[256], target[256];
    snprintf(host, sizeof host, "/%s", name);
    snprintf(dst, sizeof dst, "%s", name);
    struct stat st;
    if (lstat(host, &st) < 0)
        return 0; /* not on this host */
    if (S_ISLNK(st.st_mode)) {
        ssize_t n = readlink(host, target, sizeof target - 1);
        if (n < 0)
            return fail(err, errlen, "readlink", host);
        target[n] = '\0';
        if (symlink(target, dst) < 0)
            return fail(err, errlen, "symlink", dst);
        return 0;
    }
    return S_ISDIR(st.st_mode) ? bind_ro(host, dst, true, err, errlen) : 0;
}

static int put_file(const char *path, const char *content)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, content, strlen(content));
    close(fd);
    return n < 0 ? -1 : 0;
}

static int make_etc(const sandbox_spec_t *spec, char *err, size_t errlen)
{
    uid_t uid = spec->uid;
    if (mkdir("etc", 0755) < 0)
        return fail(err, errlen, "mkdir", "etc");
    /* What interpreters and libc read; nothing that names host users. */
    static const char *dirs[] = {"ssl", "alternatives", "ca-certificates", "ld.so.conf.d", "mono", NULL};
    static const char *files[] = {"ld.so.cache", "ld.so.conf", "localtime", "nsswitch.conf",
                                  "mime.types", "os-release", NULL};
    char host[256], dst[256];
    struct stat st;
    for (int i = 0; dirs[i]; i++) {
        snprintf(host, sizeof host, "/etc/%s", dirs[i]);
        snprintf(dst, sizeof dst, "etc/%s", dirs[i]);
        if (stat(host, &st) == 0 && S_ISDIR(st.st_mode) && bind_ro(host, dst, true, err, errlen) < 0)
            return -1;
    }
    for (int i = 0; files[i]; i++) {
        snprintf(host, sizeof host, "/etc/%s", files[i]);
        snprintf(dst, sizeof dst, "etc/%s", files[i]);
        if (stat(host, &st) == 0 && S_ISREG(st.st_mode) && bind_ro(host, dst, false, err, errlen) < 0)
            return -1;
    }
    char passwd[256], group[256];
    snprintf(passwd, sizeof passwd,
             "root:x:0:0:root:/:/usr/sbin/nologin\nsbx_user:x:%u:%u:sandbox:/tmp:/usr/sbin/nologin\n",
             (unsigned)uid, (unsigned)uid);
    snprintf(group, sizeof group, "root:x:0:\nsbx_user:x:%u:\n", (unsigned)uid);
    if (put_file("etc/passwd", passwd) < 0 || put_file("etc/group", group) < 0 ||
        put_file("etc/hostname", "impuls\n") < 0)
        return fail(err, errlen, "write", "etc/");
    if (put_file("etc/hosts", "127.0.0.1 localhost\n::1 localhost\n") < 0 ||
        put_file("etc/resolv.conf", spec->resolv_conf ? spec->resolv_conf : "") < 0)
        return fail(err, errlen, "write", "etc/");
    return 0;
}

/* A tmpfs /dev with the harmless nodes, and extra (a name under /dev, or NULL). */
static int make_dev(const char *extra, char *err, size_t errlen)
{
    if (mkdir("dev", 0755) < 0 ||
        mount("impuls-dev", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755") < 0)
        return fail(err, errlen, "mount", "dev");
    const char *nodes[] = {"null", "zero", "full", "random", "urandom", extra, NULL};
    char host[64], dst[64];
    for (int i = 0; nodes[i]; i++) {
        snprintf(host, sizeof host, "/dev/%s", nodes[i]);
        snprintf(dst, sizeof dst, "dev/%s", nodes[i]);
        int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0)
            return fail(err, errlen, "create", dst);
        close(fd);
        /* Binding keeps the host node's device; the mount stays nosuid. */
        if (mount(host, dst, NULL, MS_BIND, NULL) < 0)
            return fail(err, errlen, "bind", host);
        mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NOEXEC, NULL);
    }
    if (symlink("/proc/self/fd", "dev/fd") < 0 || symlink("/proc/self/fd/0", "dev/stdin") < 0 ||
        symlink("/proc/self/fd/1", "dev/stdout") < 0 || symlink("/proc/self/fd/2", "dev/stderr") < 0)
        return fail(err, errlen, "symlink", "dev/");
    if (mkdir("dev/shm", 01777) < 0 || chmod("dev/shm", 01777) < 0) /* past the umask */
        return fail(err, errlen, "mkdir", "dev/shm");
    return 0;
}

/* The directories of the host's system that a root gets read-only. */
static const char *const system_dirs[] = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", NULL};

/* Makes the current directory the root: pivot_root(".", ".") stacks the
 * old root under the new one; detaching it leaves nothing of the host's
 * tree reachable (runc's trick). Then the root is read-only. */
static int pivot_here(const char *dir, char *err, size_t errlen)
{
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return fail(err, errlen, "pivot_root", dir);
    if (umount2(".", MNT_DETACH) < 0)
        return fail(err, errlen, "detach old root", "/");
    if (chdir("/") < 0)
        return fail(err, errlen, "chdir", "/");
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        return fail(err, errlen, "remount read-only", "/");
    return 0;
}

int sandbox_setup_root(const sandbox_spec_t *spec, char *err, size_t errlen)
{
    /* Nothing we mount here may propagate back to the host. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return fail(err, errlen, "make private", "/");
    if (mount("impuls-root", spec->root_mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755") < 0)
        return fail(err, errlen, "mount root tmpfs on", spec->root_mnt);
    if (chdir(spec->root_mnt) < 0)
        return fail(err, errlen, "chdir", spec->root_mnt);
    for (int i = 0; system_dirs[i]; i++)
        if (mirror(system_dirs[i], err, errlen) < 0)
            return -1;
    if (make_etc(spec, err, errlen) < 0)
        return -1;
    if (mkdir("var", 0755) < 0)
        return fail(err, errlen, "mkdir", "var");
    if (bind_at(spec->task_dir, "var/task", true, spec->task_writable, err, errlen) < 0 ||
        (spec->runtime_dir && bind_ro(spec->runtime_dir, "var/runtime", true, err, errlen) < 0))
        return -1;
    if (spec->cache_dir) {
        if (mkdir("var/cache", 0755) < 0)
            return fail(err, errlen, "mkdir", "var/cache");
        if (bind_at(spec->cache_dir, &SANDBOX_CACHE_DIR[1], true, true, err, errlen) < 0)
            return -1;
    }
    if (spec->pooled) {
        /* Reached by init (root) alone: the runtime's uid cannot enter. */
        if (mkdir(".claim", 0700) < 0 || chmod(".claim", 0700) < 0)
            return fail(err, errlen, "mkdir", ".claim");
        if (bind_ro(spec->tasks_root, ".claim/tasks", true, err, errlen) < 0)
            return -1;
    }
    char opts[64];
    snprintf(opts, sizeof opts, "size=%dm,mode=1777,nr_inodes=16384", spec->tmp_mb);
    if (mkdir("tmp", 01777) < 0 ||
        mount("impuls-tmp", "tmp", "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
        return fail(err, errlen, "mount", "tmp");
    /* /run holds the Runtime API's Unix socket (init binds it after the
     * pivot): writable by root alone, so the runtime cannot replace it. */
    if (mkdir("run", 0755) < 0 ||
        mount("impuls-run", "run", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=16k,mode=0755,nr_inodes=16") < 0)
        return fail(err, errlen, "mount", "run");
    if (mkdir("proc", 0555) < 0 ||
        mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible") < 0)
        return fail(err, errlen, "mount", "proc");
    /* Kernel knobs stay read-only even to a process that somehow gets root. */
    static const char *ro_proc[] = {"proc/sys", "proc/sysrq-trigger", "proc/irq", "proc/bus", NULL};
    for (int i = 0; ro_proc[i]; i++) {
        struct stat st;
        if (lstat(ro_proc[i], &st) == 0 && mount(ro_proc[i], ro_proc[i], NULL, MS_BIND | MS_REC, NULL) == 0)
            mount(NULL, ro_proc[i], NULL, RO_FLAGS, NULL);
    }
    static const char *masked[] = {"proc/kcore", "proc/keys", "proc/timer_list", "proc/sched_debug", NULL};
    for (int i = 0; masked[i]; i++)
        if (access(masked[i], F_OK) == 0)
            mount("/dev/null", masked[i], NULL, MS_BIND, NULL);
    if (make_dev(NULL, err, errlen) < 0)
        return -1;
    return pivot_here(spec->root_mnt, err, errlen);
}

int sandbox_jail_root(const char *mnt, const char *device, char *err, size_t errlen)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return fail(err, errlen, "make private", "/");
    if (mount("impuls-jail", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755") < 0)
        return fail(err, errlen, "mount a tmpfs on", mnt);
    if (chdir(mnt) < 0)
        return fail(err, errlen, "chdir", mnt);
    for (int i = 0; system_dirs[i]; i++)
        if (mirror(system_dirs[i], err, errlen) < 0)
            return -1;
    if (mkdir("etc", 0755) < 0 || bind_ro("/etc/ld.so.cache", "etc/ld.so.cache", false, err, errlen) < 0)
        return fail(err, errlen, "bind", "/etc/ld.so.cache");
    if (make_dev(device, err, errlen) < 0)
        return -1;
    if (mkdir("proc", 0555) < 0 || mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return fail(err, errlen, "mount", "proc");
    return pivot_here(mnt, err, errlen);
}
