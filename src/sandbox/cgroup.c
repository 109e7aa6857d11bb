#include "sandbox/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "util/log.h"
#include "util/util.h"

static enum cg_version version = CG_NONE;
static bool test_root; /* root given by a unit test: not a cgroupfs */
static char root_dir[512] = "/sys/fs/cgroup";
static char parent_rel[256];

/* v1 controllers each instance joins; v2 has one tree. */
static const char *V1_CONTROLLERS[] = {"memory", "pids", "cpu", NULL};

enum cg_version cgroup_version(void) { return version; }

const char *cgroup_version_name(enum cg_version v)
{
    return v == CG_V2 ? "v2" : v == CG_V1 ? "v1" : "none";
}

static int write_str(const char *path, const char *val)
{
    /* A test root is a plain directory: there the files are created. On the
     * real cgroupfs a missing file means a missing controller. */
    int flags = O_WRONLY | O_CLOEXEC | (test_root ? O_CREAT | O_TRUNC : 0);
    int fd;
    do /* cgroupfs may be interrupted by a signal (SIGCHLD) while it waits for a lock */
        fd = open(path, flags, 0644);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -errno;
    ssize_t n;
    do
        n = write(fd, val, strlen(val));
    while (n < 0 && errno == EINTR);
    int err = n < 0 ? -errno : 0;
    close(fd);
    return err;
}

static int64_t read_int(const char *path)
{
    char *s = read_file(path, 64, NULL);
    if (!s)
        return -1;
    int64_t v = strtoll(s, NULL, 10);
    free(s);
    return v;
}

/* Path of `file` in the cgroup `rel` (below the parent) of controller ctrl. */
static void cg_path(char out[4096], const char *ctrl, const char *rel, const char *file)
{
    if (version == CG_V2)
        snprintf(out, 4096, "%s/%s%s%s%s%s", root_dir, parent_rel, rel[0] ? "/" : "", rel,
                 file ? "/" : "", file ? file : "");
    else
        snprintf(out, 4096, "%s/%s/%s%s%s%s%s", root_dir, ctrl, parent_rel, rel[0] ? "/" : "", rel,
                 file ? "/" : "", file ? file : "");
}

static bool v2_has_memory(const char *root)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/cgroup.controllers", root);
    char *s = read_file(path, 4096, NULL);
    bool ok = s && strstr(s, "memory") && strstr(s, "pids");
    free(s);
    return ok;
}

/* Is the hierarchy of version v really mounted (not a plain directory)? */
static bool mounted(enum cg_version v)
{
    struct statfs fs;
    char path[1024];
    if (v == CG_V2) {
        snprintf(path, sizeof path, "%s", root_dir);
        return statfs(path, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
    }
    for (int i = 0; V1_CONTROLLERS[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", root_dir, V1_CONTROLLERS[i]);
        if (statfs(path, &fs) < 0 || fs.f_type != CGROUP_SUPER_MAGIC)
            return false;
    }
    return true;
}

/* Removes stale instance cgroups (and kills their processes). */
static void sweep(const char *ctrl)
{
    char dir[4096];
    cg_path(dir, ctrl, "", NULL);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.')
            continue;
        cgroup_t cg = {.created = true, .peak_fd = -1};
        snprintf(cg.name, sizeof cg.name, "%s", e->d_name);
        log_warn("cgroup: removing %s left by an earlier daemon", e->d_name);
        cgroup_destroy(&cg);
    }
    closedir(d);
}

enum cg_version cgroup_init(const char *root, const char *parent, enum cg_version want, char *err,
                            size_t errlen)
{
    snprintf(root_dir, sizeof root_dir, "%s", root ? root : "/sys/fs/cgroup");
    test_root = root != NULL;
    snprintf(parent_rel, sizeof parent_rel, "%s", parent);
    char path[4096];
    if (want == CG_NONE) {
        snprintf(path, sizeof path, "%s/memory/memory.limit_in_bytes", root_dir);
        if (v2_has_memory(root_dir))
            want = CG_V2;
        else if (access(path, F_OK) == 0)
            want = CG_V1;
    }
    if (!test_root && want != CG_NONE && !mounted(want)) {
        snprintf(err, errlen, "cgroup %s is not mounted at %s", want == CG_V2 ? "v2" : "v1", root_dir);
        return version = CG_NONE;
    }
    version = want;
    if (want == CG_NONE) {
        snprintf(err, errlen, "no usable cgroup hierarchy under %s (need v2 with memory and pids, or v1 memory/pids/cpu)", root_dir);
        return CG_NONE;
    }
    if (want == CG_V2) {
        /* Enable the controllers down the path to our parent. */
        char cur[4096];
        snprintf(cur, sizeof cur, "%s", root_dir);
        char rel[256];
        snprintf(rel, sizeof rel, "%s", parent_rel);
        for (char *tok = strtok(rel, "/"); tok; tok = strtok(NULL, "/")) {
            char ctl[4096];
            snprintf(ctl, sizeof ctl, "%s/cgroup.subtree_control", cur);
            write_str(ctl, "+memory +pids +cpu");
            size_t l = strlen(cur);
            snprintf(cur + l, sizeof cur - l, "/%s", tok);
            if (mkdir(cur, 0755) < 0 && errno != EEXIST) {
                snprintf(err, errlen, "cannot create cgroup %s: %s", cur, strerror(errno));
                return version = CG_NONE;
            }
        }
        char ctl[4096];
        snprintf(ctl, sizeof ctl, "%s/cgroup.subtree_control", cur);
        int r = write_str(ctl, "+memory +pids +cpu");
        if (r < 0)
            r = write_str(ctl, "+memory +pids");
        if (r < 0) {
            snprintf(err, errlen, "cannot enable memory and pids controllers in %s: %s", cur, strerror(-r));
            return version = CG_NONE;
        }
        sweep(NULL);
    } else {
        for (int i = 0; V1_CONTROLLERS[i]; i++) {
            cg_path(path, V1_CONTROLLERS[i], "", NULL);
            int r = mkdir_p(path, 0755);
            if (r < 0) {
                snprintf(err, errlen, "cannot create cgroup %s: %s", path, strerror(-r));
                return version = CG_NONE;
            }
            sweep(V1_CONTROLLERS[i]);
        }
        /* Hierarchical OOM accounting in v1 must be on for per-child limits. */
        cg_path(path, "memory", "", "memory.use_hierarchy");
        write_str(path, "1");
    }
    return version;
}

static int mkdir_retry(const char *path)
{
    int r;
    do
        r = mkdir(path, 0755);
    while (r < 0 && errno == EINTR);
    return r;
}

int cgroup_set_limits(const cgroup_t *cg, int memory_mb, int pids_max, int cpu_weight)
{
    char path[4096], val[64];
    long long mem = (long long)memory_mb << 20;
    const char *name = cg->name;
    int r;
    if (version == CG_V2) {
        snprintf(val, sizeof val, "%lld", mem);
        cg_path(path, NULL, name, "memory.max");
        if ((r = write_str(path, val)) < 0)
            return r;
        cg_path(path, NULL, name, "memory.swap.max");
        write_str(path, "0"); /* absent without swap accounting: fine */
        snprintf(val, sizeof val, "%d", pids_max);
        cg_path(path, NULL, name, "pids.max");
        if ((r = write_str(path, val)) < 0)
            return r;
        snprintf(val, sizeof val, "%d", cpu_weight < 1 ? 1 : cpu_weight > 10000 ? 10000 : cpu_weight);
        cg_path(path, NULL, name, "cpu.weight");
        write_str(path, val);
        return 0;
    }
    /* v1 wants memory+swap >= memory at every step: raising, the first goes
     * first; lowering, the second (absent without swap accounting: no swap). */
    snprintf(val, sizeof val, "%lld", mem);
    char memsw[4096];
    cg_path(memsw, "memory", name, "memory.memsw.limit_in_bytes");
    cg_path(path, "memory", name, "memory.limit_in_bytes");
    bool raised = write_str(memsw, val) == 0;
    if ((r = write_str(path, val)) < 0)
        return r;
    if (!raised)
        write_str(memsw, val);
    cg_path(path, "memory", name, "memory.swappiness");
    write_str(path, "0");
    snprintf(val, sizeof val, "%d", pids_max);
    cg_path(path, "pids", name, "pids.max");
    if ((r = write_str(path, val)) < 0)
        return r;
    /* v1 shares: 1024 is the default weight; v2 weight 100 maps to it. */
    snprintf(val, sizeof val, "%d", cpu_weight * 1024 / 100 < 2 ? 2 : cpu_weight * 1024 / 100);
    cg_path(path, "cpu", name, "cpu.shares");
    write_str(path, val);
    return 0;
}

int cgroup_create(cgroup_t *cg, const char *name, int memory_mb, int pids_max, int cpu_weight)
{
    snprintf(cg->name, sizeof cg->name, "%s", name);
    cg->created = false;
    cg->peak_fd = -1;
    char path[4096];
    int err = 0;
    if (version == CG_V2) {
        cg_path(path, NULL, name, NULL);
        if (mkdir_retry(path) < 0 && errno != EEXIST)
            return -errno;
        cg->created = true;
    } else {
        for (int i = 0; V1_CONTROLLERS[i]; i++) {
            cg_path(path, V1_CONTROLLERS[i], name, NULL);
            if (mkdir_retry(path) < 0 && errno != EEXIST) {
                err = -errno;
                break;
            }
            cg->created = true;
        }
    }
    if (err == 0)
        err = cgroup_set_limits(cg, memory_mb, pids_max, cpu_weight);
    if (err == 0)
        return 0;
    log_error("cgroup: cannot set up %s: %s", name, strerror(-err));
    cgroup_destroy(cg);
    return err;
}

int cgroup_attach(const cgroup_t *cg, pid_t pid)
{
    char path[4096], val[32];
    snprintf(val, sizeof val, "%d", (int)pid);
    if (version == CG_V2) {
        cg_path(path, NULL, cg->name, "cgroup.procs");
        return write_str(path, val);
    }
    for (int i = 0; V1_CONTROLLERS[i]; i++) {
        cg_path(path, V1_CONTROLLERS[i], cg->name, "cgroup.procs");
        int r = write_str(path, val);
        if (r < 0)
            return r;
    }
    return 0;
}

/* The file holding the peak memory use (resettable by writing 0: v1, and v2
 * since Linux 6.12). */
static void peak_path(const cgroup_t *cg, char path[4096])
{
    if (version == CG_V2)
        cg_path(path, NULL, cg->name, "memory.peak");
    else
        cg_path(path, "memory", cg->name, "memory.max_usage_in_bytes");
}

/* The peak file, opened once per cgroup; -1 if there is none (v2 before 5.19). */
static int peak_fd(cgroup_t *cg)
{
    if (cg->peak_fd < 0) {
        char path[4096];
        peak_path(cg, path);
        cg->peak_fd = open(path, O_RDWR | O_CLOEXEC);
        if (cg->peak_fd < 0) /* v2 before 6.12: read-only, never reset */
            cg->peak_fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    return cg->peak_fd;
}

int64_t cgroup_peak_bytes(cgroup_t *cg)
{
    int fd = peak_fd(cg);
    if (fd < 0) { /* kernels before 5.19 have no memory.peak: current usage */
        char path[4096];
        cg_path(path, NULL, cg->name, "memory.current");
        return read_int(path);
    }
    char buf[32];
    ssize_t n;
    do
        n = pread(fd, buf, sizeof buf - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *end;
    long long v = strtoll(buf, &end, 10);
    return end == buf ? -1 : (int64_t)v;
}

void cgroup_reset_peak(cgroup_t *cg)
{
    int fd = peak_fd(cg);
    if (fd < 0)
        return;
    ssize_t n;
    do
        n = pwrite(fd, "0", 1, 0);
    while (n < 0 && errno == EINTR);
}

int cgroup_oom_kills(const cgroup_t *cg)
{
    char path[4096];
    if (version == CG_V2)
        cg_path(path, NULL, cg->name, "memory.events");
    else
        cg_path(path, "memory", cg->name, "memory.oom_control");
    char *s = read_file(path, 4096, NULL);
    if (!s)
        return -1;
    char *p = strstr(s, "oom_kill ");
    int n = p ? atoi(p + 9) : 0;
    free(s);
    return n;
}

static void kill_procs(const char *procs_file)
{
    char *s = read_file(procs_file, 1 << 20, NULL);
    if (!s)
        return;
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n"))
        kill((pid_t)atoi(line), SIGKILL);
    free(s);
}

static int remove_dir(const char *dir)
{
    /* A cgroup empties only once its killed tasks have exited, and a task
     * leaves it only after its memory is torn down: a VM's QEMU (hundreds of
     * MiB mapped) takes a while, longer on a busy machine. So the bound is
     * time, not tries: it is what that teardown depends on. */
    char procs[4096];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
    double give_up = mono_ms() + 10000;
    useconds_t pause = 1000;
    for (;;) {
        if (rmdir(dir) == 0 || errno == ENOENT)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EBUSY)
            return -errno;
        if (mono_ms() > give_up)
            return -EBUSY;
        kill_procs(procs);
        usleep(pause);
        if (pause < 20000)
            pause *= 2;
    }
}

int cgroup_destroy(cgroup_t *cg)
{
    if (!cg->created)
        return 0;
    if (cg->peak_fd >= 0) {
        close(cg->peak_fd);
        cg->peak_fd = -1;
    }
    char path[4096];
    int rc = 0;
    if (version == CG_V2) {
        cg_path(path, NULL, cg->name, NULL);
        rc = remove_dir(path);
    } else {
        for (int i = 0; V1_CONTROLLERS[i]; i++) {
            cg_path(path, V1_CONTROLLERS[i], cg->name, NULL);
            int r = remove_dir(path);
            if (r < 0)
                rc = r;
        }
    }
    if (rc < 0)
        log_warn("cgroup: cannot remove %s: %s", cg->name, strerror(-rc));
    cg->created = false;
    return rc;
}

int cgroup_count(void)
{
    char dir[4096];
    cg_path(dir, "memory", "", NULL);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_type == DT_DIR && e->d_name[0] != '.';
    closedir(d);
    return n;
}

void cgroup_shutdown(void)
{
    /* Remove our parent dirs when empty; leave shared ancestors alone. */
    char path[4096];
    if (version == CG_V2) {
        cg_path(path, NULL, "", NULL);
        rmdir(path);
    } else if (version == CG_V1) {
        for (int i = 0; V1_CONTROLLERS[i]; i++) {
            cg_path(path, V1_CONTROLLERS[i], "", NULL);
            rmdir(path);
        }
    }
}
