/* The build sandbox (box.h). One step:
 *
 *   impuls up ──clone(NEWPID|NEWNS|NEWIPC|NEWUTS|NEWNET)──▶ init (pid 1 inside)
 *     │ puts init in the step's cgroup, makes the        │
 *     │ proxy's socket inside (box_proxy.h), says "go"   │ root fs (rootfs.c), pivot_root
 *     │◀── the step's stdout+stderr (a pipe) ───────────│ fork ──▶ step: uid BOX_UID, no caps,
 *     │ kills init (= the pid namespace) on time-out    │           no_new_privs, seccomp, exec
 *   init exits with the step's status, which ends every process left in the
 *   pid namespace; PDEATHSIG ends init when impuls up dies. */
#include "builder/box.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/box_proxy.h"
#include "sandbox/cgroup.h"
#include "sandbox/sandbox.h"
#include "util/util.h"

enum { FD_GO = 3, FD_OUT = 4 };

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) { interrupted = sig; }

int build_box_interrupted(void) { return interrupted; }

int build_box_open(build_box_t *b, const char *state_dir, int timeout_s, char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    b->timeout_s = timeout_s > 0 ? timeout_s : BOX_TIMEOUT_S;
    if (!fmt_path(b->root_mnt, sizeof b->root_mnt, "%s/sandbox-root", state_dir) ||
        !fmt_path(b->cache_dir, sizeof b->cache_dir, "%s/cache/box", state_dir)) {
        snprintf(err, errlen, "the state dir path is too long");
        return -1;
    }
    int rc = mkdir_p(b->root_mnt, 0700);
    if (rc == 0)
        rc = mkdir_p(b->cache_dir, 0755);
    /* The steps fill the caches (go build, npm): theirs to write. */
    if (rc == 0 && chown(b->cache_dir, BOX_UID, BOX_UID) < 0)
        rc = -errno;
    if (rc < 0) {
        snprintf(err, errlen, "cannot prepare %s: %s", state_dir, strerror(-rc));
        return -1;
    }
    rc = sandbox_seccomp_compile();
    if (rc < 0) {
        snprintf(err, errlen, "cannot compile the seccomp filter: %s", strerror(-rc));
        return -1;
    }
    char parent[64];
    snprintf(parent, sizeof parent, "impuls/build-%d", (int)getpid());
    if (cgroup_init(NULL, parent, CG_NONE, err, errlen) == CG_NONE)
        return -1;
    /* No SA_RESTART: a signal wakes the wait in build_box_run, which then
     * kills the step and cleans up before impuls up exits. */
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    b->open = true;
    return 0;
}

void build_box_close(build_box_t *b)
{
    if (!b->open)
        return;
    cgroup_shutdown();
    b->open = false;
}

void box_result_clear(box_result_t *res)
{
    free(res->output);
    memset(res, 0, sizeof *res);
}

/* The step: never returns. */
static void exec_step(const sandbox_spec_t *spec, const char *cwd)
{
    setsid();
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nul < 0 || dup2(nul, 0) < 0 || dup2(FD_OUT, 1) < 0 || dup2(FD_OUT, 2) < 0)
        _exit(126);
    close_range(3, ~0u, 0);
    struct rlimit nofile = {4096, 4096}, core = {0, 0}, nproc = {BOX_PIDS_MAX, BOX_PIDS_MAX};
    setrlimit(RLIMIT_NOFILE, &nofile);
    setrlimit(RLIMIT_CORE, &core);
    setrlimit(RLIMIT_NPROC, &nproc);
    int rc = sandbox_drop_privileges(spec->uid);
    if (rc < 0) {
        dprintf(2, "impuls: build sandbox: cannot drop privileges: %s\n", strerror(-rc));
        _exit(126);
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        dprintf(2, "impuls: build sandbox: cannot set no_new_privs: %s\n", strerror(errno));
        _exit(126);
    }
    if (chdir(cwd) < 0) {
        dprintf(2, "impuls: build sandbox: cannot enter %s: %s\n", cwd, strerror(errno));
        _exit(126);
    }
    rc = sandbox_apply_seccomp();
    if (rc != 0) {
        dprintf(2, "impuls: build sandbox: cannot load the seccomp filter: %s\n", strerror(-rc));
        _exit(126);
    }
    execve(spec->argv[0], (char *const *)spec->argv, (char *const *)spec->envp);
    dprintf(2, "impuls: build sandbox: cannot run %s: %s\n", spec->argv[0], strerror(errno));
    _exit(127);
}

/* pid 1 of the build sandbox: never returns. */
static void box_init(const sandbox_spec_t *spec, const char *cwd, int go, int out)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    if (dup2(go, FD_GO) < 0 || dup2(out, FD_OUT) < 0)
        _exit(125);
    close_range(FD_OUT + 1, ~0u, 0);
    char byte;
    if (read(FD_GO, &byte, 1) != 1) /* impuls up gave up on us */
        _exit(125);
    close(FD_GO);
    sethostname("impuls-build", 12);
    char err[512];
    if (sandbox_setup_root(spec, err, sizeof err) < 0) {
        dprintf(FD_OUT, "impuls: build sandbox: %s\n", err);
        _exit(125);
    }
    pid_t step = fork(); /* impuls up is single-threaded: fork is safe */
    if (step < 0) {
        dprintf(FD_OUT, "impuls: build sandbox: fork: %s\n", strerror(errno));
        _exit(125);
    }
    if (step == 0)
        exec_step(spec, cwd);
    close(FD_OUT);
    sandbox_init_wait(step);
}

/* Appends to the kept output, dropping its oldest half when full. */
static void keep(box_result_t *res, const char *data, size_t n)
{
    if (!res->output && !(res->output = malloc(BOX_OUTPUT_MAX + 1)))
        return;
    if (n > BOX_OUTPUT_MAX) {
        data += n - BOX_OUTPUT_MAX;
        n = BOX_OUTPUT_MAX;
    }
    if (res->output_len + n > BOX_OUTPUT_MAX) {
        size_t drop = res->output_len + n - BOX_OUTPUT_MAX;
        if (drop < BOX_OUTPUT_MAX / 2)
            drop = BOX_OUTPUT_MAX / 2;
        if (drop > res->output_len)
            drop = res->output_len;
        memmove(res->output, res->output + drop, res->output_len - drop);
        res->output_len -= drop;
    }
    memcpy(res->output + res->output_len, data, n);
    res->output_len += n;
    res->output[res->output_len] = '\0';
}

/* Reads the step's output until every process of the sandbox is gone (the
 * pipe's last writer closes), killing the namespace at the deadline or on
 * a signal. */
static void collect(build_box_t *b, pid_t init, int fd, box_result_t *res)
{
    double deadline = mono_ms() + b->timeout_s * 1000.0;
    bool killed = false;
    char buf[65536];
    for (;;) {
        double left = deadline - mono_ms();
        if ((left <= 0 || interrupted) && !killed) {
            res->timed_out = !interrupted;
            kill(init, SIGKILL);
            killed = true;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, killed ? 1000 : left > 60000 ? 60000 : (int)left + 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            continue;
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return;
        keep(res, buf, (size_t)r);
    }
}

int build_box_run(build_box_t *b, const char *task_dir, const char *const *argv, const char *const *envp,
                  const char *cwd, box_result_t *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    if (interrupted) {
        snprintf(err, errlen, "interrupted");
        return -1;
    }
    sandbox_spec_t spec = {
        .backend = SANDBOX_NAMESPACE,
        .task_dir = task_dir,
        .root_mnt = b->root_mnt,
        .argv = argv,
        .envp = envp,
        .memory_mb = BOX_MEMORY_MB,
        .pids_max = BOX_PIDS_MAX,
        .tmp_mb = BOX_TMP_MB,
        .uid = BOX_UID,
        .task_writable = true,
        .cache_dir = b->cache_dir,
        .runtime_dir = b->runtime_dir,
    };
    cgroup_t cg;
    char name[32];
    snprintf(name, sizeof name, "step-%d", ++b->steps);
    int rc = cgroup_create(&cg, name, BOX_MEMORY_MB, BOX_PIDS_MAX, 100);
    if (rc < 0) {
        snprintf(err, errlen, "cannot create the build cgroup: %s", strerror(-rc));
        return -1;
    }
    int go[2], out[2];
    if (pipe2(go, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        cgroup_destroy(&cg);
        return -1;
    }
    if (pipe2(out, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        close(go[0]);
        close(go[1]);
        cgroup_destroy(&cg);
        return -1;
    }
    /* With the proxy (box_proxy.h): its address first, where the step's
     * tools look (getenv takes the first of a name). */
    const char *proxied[] = {"HTTP_PROXY=" BOX_PROXY_URL, "HTTPS_PROXY=" BOX_PROXY_URL, "http_proxy=" BOX_PROXY_URL,
                             "https_proxy=" BOX_PROXY_URL};
    size_t n_env = 0;
    while (envp[n_env])
        n_env++;
    const char **env = calloc(n_env + 5, sizeof *env);
    if (!env) {
        snprintf(err, errlen, "out of memory");
        close(go[0]);
        close(go[1]);
        close(out[0]);
        close(out[1]);
        cgroup_destroy(&cg);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; !b->no_network && i < 4; i++)
        env[k++] = proxied[i];
    for (size_t i = 0; i < n_env; i++)
        env[k++] = envp[i];
    spec.envp = env;
    fflush(NULL); /* nothing buffered may be written twice by a child */
    long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET;
    long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid == 0)
        box_init(&spec, cwd, go[0], out[1]);
    int clone_errno = errno;
    free(env);
    close(go[0]);
    close(out[1]);
    if (pid < 0) {
        snprintf(err, errlen, "cannot create the build sandbox: clone: %s", strerror(clone_errno));
        close(go[1]);
        close(out[0]);
        cgroup_destroy(&cg);
        return -1;
    }
    rc = cgroup_attach(&cg, (pid_t)pid);
    box_proxy_t *proxy = NULL;
    if (rc < 0) {
        snprintf(err, errlen, "cannot place the build sandbox in its cgroup: %s", strerror(-rc));
    } else if (!b->no_network && !(proxy = box_proxy_start((pid_t)pid, err, errlen))) {
        rc = -1;
    } else if (write(go[1], "g", 1) != 1) {
        snprintf(err, errlen, "cannot start the build sandbox: %s", strerror(errno));
        rc = -1;
    }
    if (rc < 0)
        kill((pid_t)pid, SIGKILL);
    close(go[1]);
    collect(b, (pid_t)pid, out[0], res);
    close(out[0]);
    char *refused = box_proxy_stop(proxy);
    if (refused)
        keep(res, refused, strlen(refused));
    free(refused);
    int st = 0;
    while (waitpid((pid_t)pid, &st, 0) < 0 && errno == EINTR)
        ;
    res->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    res->oom = cgroup_oom_kills(&cg) > 0;
    cgroup_destroy(&cg);
    if (rc < 0)
        return -1;
    if (interrupted) {
        snprintf(err, errlen, "interrupted");
        return -1;
    }
    return 0;
}
