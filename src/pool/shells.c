/* Pre-made sandboxes ("shells"): for each language, a few sandboxes made
 * before any function asks for one, whose runtime has already started (the
 * interpreter booted, the bootstrap loaded) and waits for its claim.
 *
 * A cold start of an eligible function then skips the namespaces, the cgroup
 * attach (an RCU grace period on cgroup v1), the mounts and the interpreter's
 * own start: the daemon sets the shell's cgroup limits, init binds the code
 * at /var/task and hands the function's environment to the runtime, which
 * loads the handler and asks for work. A spare is made again soon after, off
 * the invocation's path.
 *
 * Eligible: a handler function (not an HTTP server, not `provided`) on Node,
 * Python or C# (Mono), sandboxed, whose env sets nothing an interpreter reads
 * only at start (PYTHON*, NODE_*, MONO_*, LD_*, LANG, LC_*, TZ). Everything else, and any
 * start while no shell is ready, takes the ordinary path (instance.c). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool/internal.h"
#include "runtime_api/runtimes.h"
#include "util/log.h"
#include "util/util.h"

enum { REFILL_DELAY_MS = 30, LANGS = LANG_CSHARP + 1 }; /* Node, Python, C#: the interpreters that wait */

typedef struct shell {
    uint64_t id;
    enum runtime_lang lang;
    sandbox_t sb;
    struct event *ctl_ev;
    struct shell *next;
} shell_t;

static shell_t *shells;
static int per_lang = 2;
static struct event *refill_ev;

void shells_configure(int n) { per_lang = n; }

static const runtime_def_t *lang_runtime(enum runtime_lang lang)
{
    return runtime_find(lang == LANG_NODE ? "nodejs20" : lang == LANG_PYTHON ? "python311" : "csharp");
}

static bool env_allowed(const json_t *env)
{
    static const char *prefixes[] = {"PYTHON", "NODE_", "MONO_", "LD_", "LC_", NULL};
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)env, k, v)
    {
        for (int i = 0; prefixes[i]; i++)
            if (!strncmp(k, prefixes[i], strlen(prefixes[i])))
                return false;
        if (!strcmp(k, "LANG") || !strcmp(k, "TZ"))
            return false;
    }
    return true;
}

bool runtime_starts_early(const pool_t *pool, const runtime_def_t **rt)
{
    const fn_config_t *c = &pool->fn->cfg;
    *rt = runtime_find(c->runtime);
    return !strcmp(c->mode, "handler") && *rt && (int)(*rt)->lang < LANGS && env_allowed(c->env);
}

bool shell_eligible(const pool_t *pool, const runtime_def_t **rt)
{
    return runtime_starts_early(pool, rt) && pool->backend == SANDBOX_NAMESPACE;
}

static void shell_unlink(shell_t *s)
{
    for (shell_t **p = &shells; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            return;
        }
}

static void on_shell_ctl(evutil_socket_t fd, short what, void *arg)
{
    shell_t *s = arg;
    errno = 0;
    /* Once init sent the Runtime API sockets (s->sb.rapi_fd) the shell is
     * ready; if init died instead, the reaper cleans up. */
    if (sandbox_take_rapi_fd(&s->sb) < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    event_del(s->ctl_ev);
}

void shell_spec_init(shell_spec_t *ss, const runtime_def_t *rt, uint64_t id)
{
    snprintf(ss->cgname, sizeof ss->cgname, "i-%llu", (unsigned long long)id);
    snprintf(ss->empty, sizeof ss->empty, "%s/empty-task", D->cfg.data_dir);
    snprintf(ss->tasks, sizeof ss->tasks, "%s/tasks", D->cfg.data_dir);
    mkdir(ss->empty, 0755);
    ss->spec = (sandbox_spec_t){
        .backend = SANDBOX_NAMESPACE,
        .task_dir = ss->empty,
        .runtime_dir = D->cfg.runtime_dir,
        .root_mnt = D->cfg.root_mnt,
        .cgroup_name = ss->cgname,
        .memory_mb = SHELL_MEMORY_MB,
        .pids_max = D->cfg.pids_max,
        .tmp_mb = D->cfg.tmp_mb,
        /* A function's share of the CPU at the default memory size: a spare
         * booting during a burst of cold starts takes no more than the
         * claimed instances it would serve (at 100 it took 8x theirs, and
         * the burst's p99 grew: docs/performance.md, "Pre-made sandboxes"). */
        .cpu_weight = instance_cpu_weight(&(fn_config_t){.memory_mb = FN_MEMORY_DEFAULT}),
        .uid = instance_uid(id),
        .pooled = true,
        .tasks_root = ss->tasks,
        .resolv_conf = egress_resolv_conf(),
    };
    const char *task_dir, *runtime_dir;
    sandbox_paths(SANDBOX_NAMESPACE, &ss->spec, &task_dir, &runtime_dir);
    runtime_argv(rt, runtime_dir, task_dir, ss->bootstrap, ss->argv);
    /* What the interpreter reads as it starts; the rest comes with the claim. */
    snprintf(ss->runtime_env, sizeof ss->runtime_env, "LAMBDA_RUNTIME_DIR=%s", runtime_dir);
    snprintf(ss->task_env, sizeof ss->task_env, "LAMBDA_TASK_ROOT=%s", task_dir);
    const char *envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "TZ=:UTC", "HOME=/tmp",
                          "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "IMPULS_CLAIM_FD=3", ss->runtime_env,
                          ss->task_env, NULL};
    memcpy(ss->envp, envp, sizeof envp);
    ss->spec.argv = ss->argv;
    ss->spec.envp = ss->envp;
}

static void shell_spawn(enum runtime_lang lang)
{
    const runtime_def_t *rt = lang_runtime(lang);
    if (!rt || !runtime_available(rt))
        return;
    shell_t *s = calloc(1, sizeof *s);
    s->id = ++D->next_instance_id;
    s->lang = lang;
    shell_spec_t ss;
    shell_spec_init(&ss, rt, s->id);
    char err[512];
    int rc = sandbox_spawn(&ss.spec, &s->sb, err, sizeof err);
    if (rc == -1) {
        log_warn("cannot make a %s sandbox ahead of time: %s", rt->language, err);
        free(s);
        return;
    }
    s->next = shells;
    shells = s;
    if (rc < 0) { /* spawned but failed: the reaper collects it */
        log_warn("cannot make a %s sandbox ahead of time: %s", rt->language, err);
        return;
    }
    s->ctl_ev = event_new(D->base, s->sb.ctl_fd, EV_READ | EV_PERSIST, on_shell_ctl, s);
    event_add(s->ctl_ev, NULL);
}

static int count(enum runtime_lang lang)
{
    int n = 0;
    for (shell_t *s = shells; s; s = s->next)
        n += s->lang == lang;
    return n;
}

static bool wanted[LANGS];

static void on_refill(evutil_socket_t fd, short what, void *arg)
{
    for (int lang = 0; lang < LANGS; lang++) {
        if (!wanted[lang])
            continue;
        wanted[lang] = false;
        while (!D->draining && count((enum runtime_lang)lang) < per_lang)
            shell_spawn((enum runtime_lang)lang);
    }
}

/* A spare for lang soon, after the call that wants one now has gone on. */
static void want(enum runtime_lang lang)
{
    if (per_lang <= 0 || D->draining || (int)lang >= LANGS)
        return;
    wanted[lang] = true;
    if (!refill_ev)
        refill_ev = evtimer_new(D->base, on_refill, NULL);
    if (!evtimer_pending(refill_ev, NULL)) {
        struct timeval tv = {0, REFILL_DELAY_MS * 1000};
        evtimer_add(refill_ev, &tv);
    }
}

char *shell_claim_env(char **env)
{
    json_t *o = json_object();
    for (char **e = env; *e; e++) {
        char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(eq - *e), *e);
        json_object_set_new(o, key, json_string(eq + 1));
    }
    json_object_set_new(o, "AWS_LAMBDA_RUNTIME_API", json_string("127.0.0.1:9001"));
    json_object_set_new(o, SANDBOX_RAPI_UNIX_VAR, json_string(SANDBOX_RAPI_UNIX_PATH));
    char *out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out;
}

static shell_t *ready_shell(enum runtime_lang lang)
{
    shell_t *s = shells;
    while (s && !(s->lang == lang && s->sb.rapi_fd >= 0))
        s = s->next;
    return s;
}

bool shell_ready(const pool_t *pool)
{
    const runtime_def_t *rt;
    return per_lang > 0 && shell_eligible(pool, &rt) && ready_shell(rt->lang);
}

bool shell_take(instance_t *inst, char **env)
{
    const runtime_def_t *rt;
    if (per_lang <= 0 || !shell_eligible(inst->pool, &rt))
        return false;
    want(rt->lang);
    shell_t *s = ready_shell(rt->lang);
    if (!s)
        return false;
    const fn_config_t *c = &inst->pool->fn->cfg;
    char *claim = shell_claim_env(env);
    bool ok = claim && cgroup_set_limits(&s->sb.cg, c->memory_mb, D->cfg.pids_max, instance_cpu_weight(c)) == 0 &&
              (!inst->egress.held || egress_lease_attach(&inst->egress, s->sb.pid) == 0) &&
              sandbox_claim(&s->sb, inst->task_key, claim) == 0;
    free(claim);
    shell_unlink(s);
    event_free(s->ctl_ev);
    if (!ok) { /* this shell is no good: it goes, the call takes the ordinary path */
        log_warn("cannot claim a pre-made sandbox; starting one");
        sandbox_kill(&s->sb);
        s->next = shells; /* reaped as a shell */
        shells = s;
        s->ctl_ev = NULL;
        sandbox_close_rapi(&s->sb); /* and not taken again */
        return false;
    }
    inst->id = s->id; /* its uid and cgroup are named after it */
    inst->sb = s->sb; /* with the Runtime API sockets */
    free(s);
    return true;
}

bool shells_reap(pid_t pid)
{
    for (shell_t *s = shells; s; s = s->next)
        if (s->sb.pid == pid) {
            shell_unlink(s);
            if (s->ctl_ev)
                event_free(s->ctl_ev);
            sandbox_release(&s->sb);
            free(s);
            return true;
        }
    return false;
}

void shells_kill_all(void)
{
    for (shell_t *s = shells; s; s = s->next)
        sandbox_kill(&s->sb);
    if (refill_ev)
        evtimer_del(refill_ev);
}

int shells_ready(const char *language)
{
    int n = 0;
    for (shell_t *s = shells; s; s = s->next)
        n += s->sb.rapi_fd >= 0 && !strcmp(lang_runtime(s->lang)->language, language);
    return n;
}

int shells_count(void)
{
    int n = 0;
    for (shell_t *s = shells; s; s = s->next)
        n++;
    return n;
}

void shells_shutdown(void)
{
    if (refill_ev)
        event_free(refill_ev);
    refill_ev = NULL;
}
