/* Python zygotes (the protocol and the why: src/sandbox/zygote.c): one
 * python3 that has imported the runtime, per Python function that needs a
 * second instance, and from which that function's further instances are
 * cloned. An instance so made shares the interpreter's pages with its
 * siblings: an idle one costs about half the memory of one started alone
 * (docs/performance.md, "A zygote per function").
 *
 * Lifetime: started when an eligible pool (shell_eligible: a Python handler)
 * with an instance (--python-zygote: N instances) needs another; while it starts (about as long as an
 * interpreter does) the pool starts no instance, unless a pre-made sandbox is
 * ready, and carries on once it is ready (a burst of calls is then served by
 * clones, each a fraction of an interpreter's start); stopped when the pool's
 * last instance goes, or with the daemon. Per function and never
 * shared: interpreters cloned from one share its string-hash key.
 * A zygote that does not start, exits, fails a request, or whose clones die
 * before asking for work (three of them) is stopped, and its function starts
 * instances the ordinary way for a while: at once the first time, then after
 * 1, 2, 4 ... s, up to 5 min, until a clone works again.
 *
 * The zygote runs as root outside any sandbox, so the files it runs must be
 * root's alone: the daemon starts none unless the runtime dir's python/,
 * zygote.py, impuls_runtime.py and the library are owned by root and
 * writable by no one else. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool/internal.h"
#include "runtime_api/runtimes.h"
#include "sandbox/spawn_util.h"
#include "util/log.h"
#include "util/util.h"

struct zygote {
    pid_t pid; /* -1 once reaped */
    int fd;    /* its socket; -1 once stopped */
    int out;   /* its stdout and stderr, to the daemon's log */
    bool ready;
    int failed_clones;
    struct event *ev; /* until it says "R" */
    struct event *out_ev;
    pool_t *pool; /* NULL once stopped */
    struct zygote *next;
};

enum { READY_TIMEOUT_S = 5, MAX_FAILED_CLONES = 3, BACKOFF_MAX_MS = 300 * 1000 };

static zygote_t *zygotes; /* every zygote not yet reaped */
static bool disabled;     /* no usable library or files: never tried again */
static int after = 1;     /* --python-zygote: instances a function has before it gets one */
static char lib_path[4096];

static bool root_only(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && st.st_uid == 0 && !(st.st_mode & 022))
        return true;
    log_warn("no Python zygotes: %s is not root's alone (they would run it as root)", path);
    return false;
}

/* libimpuls-zygote.so next to the daemon's binary (build/), once the files
 * the zygote runs are found safe to run as root; -1 and disabled if not. */
static int open_lib(void)
{
    if (!lib_path[0]) {
        char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        char *slash = n > 0 ? memrchr(exe, '/', (size_t)n) : NULL;
        /* Next to the binary (build/), else where make install puts it:
         * <prefix>/bin/impuls -> <prefix>/lib/impuls/. */
        if (slash) {
            snprintf(lib_path, sizeof lib_path, "%.*s/libimpuls-zygote.so", (int)(slash - exe), exe);
            if (access(lib_path, F_OK) < 0)
                snprintf(lib_path, sizeof lib_path, "%.*s/../lib/impuls/libimpuls-zygote.so", (int)(slash - exe), exe);
        }
    }
    int fd = lib_path[0] ? open(lib_path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0)
        log_warn("no Python zygotes: cannot open %s: %s", lib_path[0] ? lib_path : "libimpuls-zygote.so",
                 strerror(errno));
    char dir[4200], script[4300], runtime[4300];
    snprintf(dir, sizeof dir, "%s/python", D->cfg.runtime_dir);
    snprintf(script, sizeof script, "%s/zygote.py", dir);
    snprintf(runtime, sizeof runtime, "%s/impuls_runtime.py", dir);
    if (fd >= 0 && !(root_only(lib_path) && root_only(dir) && root_only(script) && root_only(runtime))) {
        close(fd);
        fd = -1;
    }
    disabled = fd < 0;
    return fd;
}

/* The zygote failed: stopped, and none for the function for a while. */
static void fail(pool_t *pool, const char *why)
{
    zygote_stop(pool);
    int n = ++pool->zygote_failures;
    double wait = n <= 1 ? 0 : (n - 2 < 9 ? 1000 << (n - 2) : BACKOFF_MAX_MS);
    wait = wait < BACKOFF_MAX_MS ? wait : BACKOFF_MAX_MS;
    pool->zygote_retry_ms = mono_ms() + wait;
    log_warn("function %s: %s; its Python zygote is stopped (the next in %.0f s at the earliest)", pool->fn->cfg.name,
             why, wait / 1000);
}

/* ... and the calls that waited for it start instances another way. */
static void give_up(pool_t *pool, const char *why)
{
    fail(pool, why);
    pool_pump(pool);
}

static void on_ready(evutil_socket_t fd, short what, void *arg)
{
    zygote_t *z = arg;
    char c = 0;
    ssize_t n = what & EV_READ ? recv(fd, &c, 1, MSG_DONTWAIT) : 0;
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    event_del(z->ev);
    if (!z->pool)
        return;
    if (n == 1 && c == 'R') {
        z->ready = true;
        pool_pump(z->pool);
    } else {
        give_up(z->pool, what & EV_READ ? "the Python zygote did not start" : "the Python zygote was not ready in time");
    }
}

/* What the zygote prints (Python's complaints, if it cannot start). */
static void on_output(evutil_socket_t fd, short what, void *arg)
{
    zygote_t *z = arg;
    char buf[1024];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        event_del(z->out_ev);
        return;
    }
    while (n > 0 && buf[n - 1] == '\n')
        n--;
    log_warn("Python zygote %d: %.*s", (int)z->pid, (int)n, buf);
}

static zygote_t *zygote_start(pool_t *pool, const runtime_def_t *rt)
{
    int lib = open_lib();
    if (lib < 0)
        return NULL;
    int sv[2], out[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        close(lib);
        return NULL;
    }
    if (pipe2(out, O_CLOEXEC) < 0) {
        close(lib);
        close(sv[0]);
        close(sv[1]);
        return NULL;
    }
    /* The environment a pre-made sandbox's runtime starts with: its children
     * keep it until their claim replaces it. */
    shell_spec_t ss;
    shell_spec_init(&ss, rt, 0);
    char **envp = env_with_rapi(ss.envp, "127.0.0.1:9001", true);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/python", D->cfg.runtime_dir);
    /* -P: nothing of the script's dir shadows the standard library. */
    const char *argv[] = {rt->interpreter, "-s", "-P", "zygote.py", NULL};
    zygote_t *z = calloc(1, sizeof *z);
    pid_t pid = envp && z ? fork() : -1;
    if (pid == 0) {
        /* Its own session (a terminal's ^C is the daemon's to take); stdout
         * and stderr a pipe, as a runtime's are (Python notes what they are
         * at start, and its clones keep that). */
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        setsid();
        int nul = open("/dev/null", O_RDONLY), s = fcntl(sv[1], F_DUPFD, 10), l = fcntl(lib, F_DUPFD, 10);
        if (nul < 0 || s < 0 || l < 0 || dup2(nul, 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0 ||
            dup2(s, 3) < 0 || dup2(l, 4) < 0 || chdir(dir) < 0)
            _exit(126);
        close_range(5, ~0u, 0);
        execve(argv[0], (char *const *)argv, envp);
        _exit(127);
    }
    int saved = errno;
    free(envp);
    close(lib);
    close(sv[1]);
    close(out[1]);
    if (pid < 0) {
        log_warn("function %s: cannot start a Python zygote: %s", pool->fn->cfg.name, strerror(saved));
        close(sv[0]);
        close(out[0]);
        free(z);
        return NULL;
    }
    z->pid = pid;
    z->fd = sv[0];
    z->out = out[0];
    z->pool = pool;
    fcntl(z->out, F_SETFL, O_NONBLOCK);
    z->ev = event_new(D->base, z->fd, EV_READ | EV_PERSIST, on_ready, z);
    z->out_ev = event_new(D->base, z->out, EV_READ | EV_PERSIST, on_output, z);
    struct timeval tv = {.tv_sec = READY_TIMEOUT_S};
    z->next = zygotes;
    zygotes = z;
    if (!z->ev || !z->out_ev || event_add(z->ev, &tv) < 0 || event_add(z->out_ev, NULL) < 0) {
        pool->zygote = z; /* so that it is stopped; the reaper frees it */
        zygote_stop(pool);
        return NULL;
    }
    log_debug("function %s: Python zygote started (pid %d)", pool->fn->cfg.name, (int)pid);
    return z;
}

void zygote_stop(pool_t *pool)
{
    zygote_t *z = pool->zygote;
    if (!z)
        return;
    pool->zygote = NULL;
    z->pool = NULL;
    z->ready = false;
    if (z->ev)
        event_del(z->ev);
    close(z->fd);
    z->fd = -1;
    if (z->pid > 0)
        kill(z->pid, SIGKILL); /* its sandboxes are the daemon's children: they stay */
}

int zygote_spawn(instance_t *inst, char **env, char *err, size_t errlen)
{
    pool_t *pool = inst->pool;
    const runtime_def_t *rt;
    /* The function may have changed since (registry_update stops it too). */
    if (!pool->zygote || !pool->zygote->ready || D->draining || !shell_eligible(pool, &rt) ||
        rt->lang != LANG_PYTHON)
        return -1;
    const fn_config_t *c = &pool->fn->cfg;
    shell_spec_t ss;
    shell_spec_init(&ss, rt, inst->id);
    ss.spec.memory_mb = c->memory_mb;
    ss.spec.cpu_weight = instance_cpu_weight(c);
    ss.spec.zygote_fd = pool->zygote->fd;
    ss.spec.egress = inst->egress.held ? &inst->egress : NULL;
    int rc = sandbox_spawn(&ss.spec, &inst->sb, err, errlen);
    if (rc == -1) {
        fail(pool, err);
        return -1;
    }
    if (rc == 0) {
        char *claim = shell_claim_env(env);
        if (!claim || sandbox_claim(&inst->sb, inst->task_key, claim) < 0) {
            snprintf(err, errlen, "cannot claim a sandbox from the Python zygote");
            sandbox_kill(&inst->sb);
            rc = -2;
        }
        free(claim);
    }
    inst->from_zygote = true;
    return rc;
}

void zygote_clone_result(pool_t *pool, bool worked)
{
    zygote_t *z = pool->zygote;
    if (!z)
        return;
    if (worked) {
        z->failed_clones = 0;
        pool->zygote_failures = 0;
    } else if (++z->failed_clones >= MAX_FAILED_CLONES) {
        fail(pool, "three of its Python zygote's instances ended before asking for work");
    }
}

bool zygotes_reap(pid_t pid)
{
    for (zygote_t **p = &zygotes; *p; p = &(*p)->next) {
        zygote_t *z = *p;
        if (z->pid != pid)
            continue;
        *p = z->next;
        z->pid = -1; /* reaped: its pid may be another process's by now */
        if (z->pool) /* it died on its own */
            give_up(z->pool, "its Python zygote exited");
        if (z->ev)
            event_free(z->ev);
        if (z->out_ev)
            event_free(z->out_ev);
        close(z->out);
        free(z);
        return true;
    }
    return false;
}

void zygotes_configure(int n) { after = n; }

bool zygote_wait(pool_t *pool)
{
    const runtime_def_t *rt;
    if (!pool->zygote && after > 0 && pool->n_instances >= after && !disabled && !D->draining &&
        mono_ms() >= pool->zygote_retry_ms && shell_eligible(pool, &rt) && rt->lang == LANG_PYTHON)
        pool->zygote = zygote_start(pool, rt);
    return pool->zygote && !pool->zygote->ready;
}

void zygotes_kill_all(void)
{
    for (zygote_t *z = zygotes; z; z = z->next)
        if (z->pool)
            zygote_stop(z->pool);
}

int zygotes_count(void)
{
    int n = 0;
    for (zygote_t *z = zygotes; z; z = z->next)
        n++;
    return n;
}
