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
 * A zygote that fails a request is stopped; the request starts the ordinary
 * way. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pool/internal.h"
#include "runtime_api/runtimes.h"
#include "sandbox/spawn_util.h"
#include "util/log.h"

struct zygote {
    pid_t pid;
    int fd; /* its socket; -1 once stopped */
    bool ready;
    struct event *ev; /* until it says "R" */
    pool_t *pool;     /* NULL once stopped */
    struct zygote *next;
};

enum { READY_TIMEOUT_S = 5 };

static zygote_t *zygotes; /* every zygote not yet reaped */
static bool disabled;     /* no library next to the daemon: never tried again */
static int after = 1;     /* --python-zygote: instances a function has before it gets one */
static char lib_path[4096];

/* libimpuls-zygote.so next to the daemon's binary (build/). */
static int open_lib(void)
{
    if (!lib_path[0]) {
        char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        char *slash = n > 0 ? memrchr(exe, '/', (size_t)n) : NULL;
        if (slash)
            snprintf(lib_path, sizeof lib_path, "%.*s/libimpuls-zygote.so", (int)(slash - exe), exe);
    }
    int fd = lib_path[0] ? open(lib_path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) {
        log_warn("no Python zygotes: cannot open %s: %s", lib_path[0] ? lib_path : "libimpuls-zygote.so",
                 strerror(errno));
        disabled = true;
    }
    return fd;
}

/* The zygote failed or went: calls that waited for it start another way. */
static void give_up(pool_t *pool)
{
    zygote_stop(pool);
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
    } else { /* could not start (its stderr is in the daemon's log), or too slow */
        log_warn("function %s: the Python zygote did not start", z->pool->fn->cfg.name);
        give_up(z->pool);
    }
}

static zygote_t *zygote_start(pool_t *pool, const runtime_def_t *rt)
{
    int lib = open_lib();
    if (lib < 0)
        return NULL;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        close(lib);
        return NULL;
    }
    /* The environment a pre-made sandbox's runtime starts with: its children
     * keep it until their claim replaces it. */
    shell_spec_t ss;
    shell_spec_init(&ss, rt, 0);
    char **envp = env_with_rapi(ss.envp, "127.0.0.1:9001", true);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/python", D->cfg.runtime_dir);
    const char *argv[] = {rt->interpreter, "-s", "zygote.py", NULL};
    pid_t pid = envp ? fork() : -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        int nul = open("/dev/null", O_RDWR);
        if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(sv[1], 3) < 0 || dup2(lib, 4) < 0 ||
            chdir(dir) < 0)
            _exit(126);
        close_range(5, ~0u, 0);
        execve(argv[0], (char *const *)argv, envp);
        _exit(127);
    }
    int saved = errno;
    free(envp);
    close(lib);
    close(sv[1]);
    if (pid < 0) {
        log_warn("function %s: cannot start a Python zygote: %s", pool->fn->cfg.name, strerror(saved));
        close(sv[0]);
        return NULL;
    }
    zygote_t *z = calloc(1, sizeof *z);
    z->pid = pid;
    z->fd = sv[0];
    z->pool = pool;
    z->ev = event_new(D->base, z->fd, EV_READ | EV_PERSIST, on_ready, z);
    struct timeval tv = {.tv_sec = READY_TIMEOUT_S};
    event_add(z->ev, &tv);
    z->next = zygotes;
    zygotes = z;
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
    event_del(z->ev);
    close(z->fd);
    z->fd = -1;
    kill(z->pid, SIGKILL); /* its sandboxes are the daemon's children: they stay */
}

int zygote_spawn(instance_t *inst, char **env)
{
    pool_t *pool = inst->pool;
    const runtime_def_t *rt;
    if (!pool->zygote || !pool->zygote->ready || D->draining || !shell_eligible(pool, &rt))
        return -1;
    const fn_config_t *c = &pool->fn->cfg;
    shell_spec_t ss;
    shell_spec_init(&ss, rt, inst->id);
    ss.spec.memory_mb = c->memory_mb;
    ss.spec.cpu_weight = instance_cpu_weight(c);
    ss.spec.zygote_fd = pool->zygote->fd;
    char err[512];
    int rc = sandbox_spawn(&ss.spec, &inst->sb, err, sizeof err);
    if (rc == -1) {
        log_warn("function %s: the Python zygote failed (%s); stopping it", c->name, err);
        zygote_stop(pool);
        return -1;
    }
    if (rc == 0) {
        char *claim = shell_claim_env(env);
        if (!claim || sandbox_claim(&inst->sb, inst->task_key, claim) < 0) {
            log_warn("function %s: cannot claim a sandbox from the zygote", c->name);
            sandbox_kill(&inst->sb);
            rc = -2;
        }
        free(claim);
    } else {
        log_warn("function %s: %s", c->name, err);
    }
    inst->from_zygote = true;
    return rc;
}

bool zygotes_reap(pid_t pid)
{
    for (zygote_t **p = &zygotes; *p; p = &(*p)->next) {
        zygote_t *z = *p;
        if (z->pid != pid)
            continue;
        *p = z->next;
        if (z->pool) { /* it died on its own */
            log_warn("function %s: its Python zygote exited", z->pool->fn->cfg.name);
            give_up(z->pool);
        }
        event_free(z->ev);
        free(z);
        return true;
    }
    return false;
}

void zygotes_configure(int n) { after = n; }

bool zygote_wait(pool_t *pool)
{
    const runtime_def_t *rt;
    if (!pool->zygote && after > 0 && pool->n_instances >= after && !disabled && !D->draining && shell_eligible(pool, &rt) &&
        rt->lang == LANG_PYTHON)
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
