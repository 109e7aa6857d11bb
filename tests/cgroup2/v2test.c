/* The sandbox on a pure cgroup v2 kernel, run inside QEMU by
 * scripts/test-cgroup2.sh (make test-cgroup2). As the controller it starts
 * real namespace sandboxes whose runtime is this same binary in one of the
 * modes below, and checks what the kernel enforced:
 *   hog       allocates until the memory limit kills it  -> OOM detected
 *   forkbomb  forks until pids.max refuses                -> EAGAIN below the limit
 *   facts     prints its cgroup and uid                  -> own cgroup namespace, uid != 0
 *   spin      burns CPU for a moment                      -> cpu.weight applied, usage counted
 * Prints "V2TEST RESULT: PASS" when every check held. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "util/util.h"

static int failures;

#define CHECK(cond, ...)                                                                          \
    do {                                                                                          \
        if (cond) {                                                                               \
            printf("ok   ");                                                                      \
        } else {                                                                                  \
            printf("FAIL ");                                                                      \
            failures++;                                                                           \
        }                                                                                         \
        printf(__VA_ARGS__);                                                                      \
        printf("\n");                                                                             \
        fflush(stdout);                                                                           \
    } while (0)

static int mode_hog(void)
{
    for (size_t mb = 1;; mb++) {
        char *p = malloc(1 << 20);
        if (!p)
            return 3;
        memset(p, (int)mb, 1 << 20);
    }
}

static int mode_forkbomb(void)
{
    int n = 0;
    for (;;) {
        pid_t p = fork();
        if (p == 0) {
            pause();
            _exit(0);
        }
        if (p < 0) {
            printf("forks=%d errno=%s\n", n, errno == EAGAIN ? "EAGAIN" : strerror(errno));
            fflush(stdout);
            return 0;
        }
        n++;
    }
}

static int mode_facts(void)
{
    char *cg = read_file("/proc/self/cgroup", 4096, NULL);
    printf("cgroup=%s", cg ? cg : "?\n");
    printf("uid=%d\n", (int)getuid());
    free(cg);
    return 0;
}

static int mode_spin(void)
{
    double end = mono_ms() + 300;
    volatile unsigned long x = 0;
    while (mono_ms() < end)
        x++;
    return 0;
}

typedef struct {
    int status;
    char out[4096];
    int64_t peak;
    int oom_kills;
    char cpu_stat[512];
} outcome_t;

static void run(const char *mode, int memory_mb, int pids_max, int cpu_weight, outcome_t *o)
{
    static int seq;
    char name[32];
    snprintf(name, sizeof name, "i-%d", ++seq);
    const char *argv[] = {"/usr/bin/v2test", mode, NULL};
    const char *envp[] = {"PATH=/usr/bin", NULL};
    sandbox_spec_t spec = {
        .backend = SANDBOX_NAMESPACE, .task_dir = "/run/task", .runtime_dir = "/run/rt",
        .root_mnt = "/run/sbroot", .argv = argv, .envp = envp, .cgroup_name = name,
        .memory_mb = memory_mb, .pids_max = pids_max, .tmp_mb = 8, .cpu_weight = cpu_weight,
        .uid = 200001,
    };
    sandbox_t sb;
    char err[512];
    memset(o, 0, sizeof *o);
    if (sandbox_spawn(&spec, &sb, err, sizeof err) != 0) {
        CHECK(0, "%s: spawn: %s", mode, err);
        return;
    }
    waitpid(sb.pid, &o->status, 0);
    ssize_t n, len = 0;
    while ((n = read(sb.log_fd, o->out + len, sizeof o->out - 1 - (size_t)len)) > 0)
        len += n;
    o->out[len] = '\0';
    o->peak = cgroup_peak_bytes(&sb.cg);
    o->oom_kills = cgroup_oom_kills(&sb.cg);
    char path[256];
    snprintf(path, sizeof path, "/sys/fs/cgroup/impuls/v2test/%s/cpu.stat", name);
    char *st = read_file(path, sizeof o->cpu_stat - 1, NULL);
    snprintf(o->cpu_stat, sizeof o->cpu_stat, "%s", st ? st : "");
    free(st);
    snprintf(path, sizeof path, "/sys/fs/cgroup/impuls/v2test/%s/cpu.weight", name);
    st = read_file(path, 64, NULL);
    if (st && !strcmp(mode, "spin"))
        CHECK(atoi(st) == cpu_weight, "spin: cpu.weight is %d (want %d)", atoi(st), cpu_weight);
    free(st);
    sandbox_release(&sb);
    CHECK(!path_exists(path), "%s: cgroup removed after release", mode);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "hog"))
        return mode_hog();
    if (argc > 1 && !strcmp(argv[1], "forkbomb"))
        return mode_forkbomb();
    if (argc > 1 && !strcmp(argv[1], "facts"))
        return mode_facts();
    if (argc > 1 && !strcmp(argv[1], "spin"))
        return mode_spin();

    setvbuf(stdout, NULL, _IOLBF, 0);
    mkdir("/run/task", 0755);
    mkdir("/run/rt", 0755);
    mkdir("/run/sbroot", 0755);
    char err[512];
    int rc = sandbox_init("impuls/v2test", CG_NONE, err, sizeof err);
    CHECK(rc == 0 && cgroup_version() == CG_V2, "cgroup version detected: %s %s",
          cgroup_version_name(cgroup_version()), rc ? err : "");
    if (rc != 0) {
        printf("V2TEST RESULT: FAIL\n");
        return 1;
    }
    outcome_t o;
    run("hog", 32, 64, 100, &o);
    CHECK(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 128 + SIGKILL,
          "hog: runtime killed (init status %d)", WIFEXITED(o.status) ? WEXITSTATUS(o.status) : -1);
    CHECK(o.oom_kills >= 1, "hog: OOM kill counted in memory.events (%d)", o.oom_kills);
    CHECK(o.peak > 16 << 20 && o.peak <= 33 << 20, "hog: peak %lld bytes within the 32 MiB limit",
          (long long)o.peak);

    run("forkbomb", 64, 16, 100, &o);
    int forks = -1;
    char why[32] = "";
    sscanf(o.out, "forks=%d errno=%31s", &forks, why);
    CHECK(forks >= 1 && forks < 16 && !strcmp(why, "EAGAIN"), "forkbomb: %d forks, then %s (pids.max 16)",
          forks, why);

    run("facts", 64, 16, 100, &o);
    CHECK(strstr(o.out, "cgroup=0::/\n") != NULL, "facts: own cgroup namespace (%.40s)", o.out);
    int uid = -1;
    char *u = strstr(o.out, "uid=");
    if (u)
        uid = atoi(u + 4);
    CHECK(uid == 200001, "facts: runs as uid %d", uid);

    run("spin", 64, 16, 50, &o);
    long long usage = -1;
    char *p = strstr(o.cpu_stat, "usage_usec ");
    if (p)
        usage = atoll(p + 11);
    CHECK(usage > 100000, "spin: cpu usage counted (%lld us)", usage);

    cgroup_shutdown();
    CHECK(!path_exists("/sys/fs/cgroup/impuls/v2test"), "daemon cgroup removed at shutdown");
    printf("V2TEST RESULT: %s\n", failures ? "FAIL" : "PASS");
    return failures ? 1 : 0;
}
