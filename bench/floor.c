/* The floor: what this machine charges for the kernel parts of a sandboxed
 * cold start, measured outside Impuls in the same bench run, so that bench.py
 * can say how close a cold start gets to it (issue 6).
 *
 *   namespaces  clone() with new pid, mount, net, ipc and uts namespaces whose
 *               child exits at once, + waitpid (step 2 of the sandbox)
 *   cgroup      mkdir of a cgroup, a pid written to its cgroup.procs, rmdir
 *               (steps 1 and 3 and the removal; on v1 the memory controller
 *               only: the daemon does it for memory, pids and cpu, so this is
 *               a lower bound)
 *   fork        fork + _exit + waitpid of this small process (step 15)
 *
 * RUNS (default 200) runs each; p50/p99 in ms. Needs root. The bench-only
 * cgroup parent and any child are removed on every exit path, signals
 * included, so a failed run leaves nothing behind.
 *
 * Usage: bench-floor [--json] [RUNS] */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NS_FLAGS (CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)

/* What exists right now and must go on exit; empty / -1 when absent. */
static char parent_cg[256];
static char run_cg[300];
static volatile pid_t child = -1;

/* Only async-signal-safe calls: this also runs from the signal handler. */
static void cleanup(void)
{
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        child = -1;
    }
    if (run_cg[0]) {
        rmdir(run_cg);
        run_cg[0] = '\0';
    }
    if (parent_cg[0]) {
        rmdir(parent_cg);
        parent_cg[0] = '\0';
    }
}

static void die(const char *what)
{
    fprintf(stderr, "bench-floor: %s: %s\n", what, strerror(errno));
    cleanup();
    exit(1);
}

static void on_signal(int sig)
{
    cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void reap(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) != pid)
        die("waitpid");
    child = -1;
}

static int exit_at_once(void *arg)
{
    (void)arg;
    return 0;
}

static char clone_stack[64 * 1024] __attribute__((aligned(16)));

static double one_namespaces(void)
{
    double t = now_ms();
    pid_t pid = clone(exit_at_once, clone_stack + sizeof clone_stack, NS_FLAGS | SIGCHLD, NULL);
    if (pid < 0)
        die("clone with new namespaces");
    child = pid;
    reap(pid);
    return now_ms() - t;
}

static double one_fork(void)
{
    double t = now_ms();
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0)
        _exit(0);
    child = pid;
    reap(pid);
    return now_ms() - t;
}

/* Like the daemon: the pid is that of a live process other than ourselves.
 * Its start and end are not timed; mkdir + attach and rmdir are. */
static double one_cgroup(int i)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0)
        for (;;)
            pause();
    child = pid;
    char num[32];
    int len = snprintf(num, sizeof num, "%d", (int)pid);
    snprintf(run_cg, sizeof run_cg, "%s/r-%d", parent_cg, i);
    char procs[340];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", run_cg);

    double t0 = now_ms();
    if (mkdir(run_cg, 0755) < 0) {
        run_cg[0] = '\0'; /* not ours to remove */
        die("mkdir of a cgroup");
    }
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        die("open cgroup.procs");
    if (write(fd, num, (size_t)len) != len) {
        close(fd);
        die("write to cgroup.procs");
    }
    close(fd);
    double attach = now_ms() - t0;

    kill(pid, SIGKILL);
    reap(pid);

    double t1 = now_ms();
    /* On v2 a just-reaped task may keep the cgroup populated for a moment. */
    for (int tries = 0; rmdir(run_cg) < 0; tries++) {
        if (errno != EBUSY || tries >= 1000)
            die("rmdir of a cgroup");
        usleep(100);
    }
    run_cg[0] = '\0';
    return attach + now_ms() - t1;
}

/* v2 when the unified hierarchy has controllers, else v1's memory controller. */
static const char *make_parent(void)
{
    const char *version, *base;
    if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
        version = "v2";
        base = "/sys/fs/cgroup";
    } else if (access("/sys/fs/cgroup/memory/cgroup.procs", F_OK) == 0) {
        version = "v1 memory";
        base = "/sys/fs/cgroup/memory";
    } else {
        errno = ENOENT;
        die("no cgroup hierarchy at /sys/fs/cgroup");
    }
    snprintf(parent_cg, sizeof parent_cg, "%s/impuls-bench-floor", base);
    if (mkdir(parent_cg, 0755) < 0 && errno != EEXIST) { /* EEXIST: left by a killed run */
        parent_cg[0] = '\0';
        die("mkdir of the bench cgroup parent");
    }
    return version;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The same nearest-rank rule as bench.py's percentile(). */
static double pct(double *xs, int n, double p)
{
    qsort(xs, (size_t)n, sizeof *xs, cmp_double);
    int i = (int)(p / 100 * (n - 1) + 0.5);
    return xs[i < n ? i : n - 1];
}

int main(int argc, char **argv)
{
    int json = 0, runs = 200;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if ((runs = atoi(argv[i])) < 1 || runs > 100000) {
            fprintf(stderr, "usage: bench-floor [--json] [RUNS (1-100000, default 200)]\n");
            return 2;
        }
    }
    if (geteuid() != 0) {
        fprintf(stderr, "bench-floor: needs root (namespaces and cgroups)\n");
        return 1;
    }
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        signal(sigs[i], on_signal);

    double *ns = calloc((size_t)runs, sizeof *ns), *cg = calloc((size_t)runs, sizeof *cg),
           *fk = calloc((size_t)runs, sizeof *fk);
    if (!ns || !cg || !fk)
        die("calloc");
    const char *version = make_parent();
    /* Interleaved, so that a burst of load on a shared machine hits all three. */
    for (int i = 0; i < runs; i++) {
        ns[i] = one_namespaces();
        cg[i] = one_cgroup(i);
        fk[i] = one_fork();
    }
    cleanup();

    double ns50 = pct(ns, runs, 50), ns99 = pct(ns, runs, 99);
    double cg50 = pct(cg, runs, 50), cg99 = pct(cg, runs, 99);
    double fk50 = pct(fk, runs, 50), fk99 = pct(fk, runs, 99);
    if (json)
        printf("{\"runs\": %d, \"cgroup\": \"%s\", "
               "\"namespaces_p50_ms\": %.4f, \"namespaces_p99_ms\": %.4f, "
               "\"cgroup_p50_ms\": %.4f, \"cgroup_p99_ms\": %.4f, "
               "\"fork_p50_ms\": %.4f, \"fork_p99_ms\": %.4f, \"sum_p50_ms\": %.4f}\n",
               runs, version, ns50, ns99, cg50, cg99, fk50, fk99, ns50 + cg50 + fk50);
    else
        printf("floor: namespaces p50 %.2f ms, cgroup attach p50 %.2f ms, fork p50 %.2f ms, sum %.2f ms\n"
               "       p99: namespaces %.2f ms, cgroup attach %.2f ms, fork %.2f ms (%d runs, cgroup %s)\n",
               ns50, cg50, fk50, ns50 + cg50 + fk50, ns99, cg99, fk99, runs, version);
    free(ns);
    free(cg);
    free(fk);
    return 0;
}
