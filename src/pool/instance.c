/* An instance's life: spawn a sandbox running the function's runtime, hand it
 * invocations when it asks for work, keep it warm while idle, reap it when it
 * exits or is killed (timeout, OOM, idle reaping, retirement). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http/conn_limit.h"
#include "http/http_util.h"
#include "pool/internal.h"
#include "runtime_api/runtimes.h"
#include "sandbox/microvm.h"
#include "util/log.h"
#include "util/util.h"

/* Each daemon has its own range of uids (per-uid kernel limits must not be
 * shared with another daemon's sandboxes): 65536 uids from 200000 + 65536*k. */
enum { UID_BASE = 200000, UID_RANGE = 65536 };

uid_t instance_uid(uint64_t id) { return (uid_t)(UID_BASE + (uid_t)D->cfg.uid_slot * UID_RANGE + id % UID_RANGE); }

int instance_cpu_weight(const fn_config_t *c) { return c->memory_mb * 100 / 1024 < 1 ? 1 : c->memory_mb * 100 / 1024; }

static void on_log(evutil_socket_t fd, short what, void *arg);
static void on_ctl(evutil_socket_t fd, short what, void *arg);
static void leave_state(instance_t *inst);

/* The Runtime API's listening sockets go from the sandbox to the instance's
 * evhttp, which closes them. */
static void serve_runtime_api(instance_t *inst)
{
    inst->rapi = runtime_api_start(inst, inst->sb.rapi_fd, inst->sb.rapi_unix_fd);
    inst->sb.rapi_fd = inst->sb.rapi_unix_fd = -1;
}
static void on_idle(evutil_socket_t fd, short what, void *arg);

/* The environment of the runtime: Lambda's variables and the function's own
 * env, nothing of the daemon's. */
static char **build_env(instance_t *inst, const char *task_dir, const char *runtime_dir)
{
    const fn_config_t *c = &inst->pool->fn->cfg;
    size_t n = json_object_size(c->env) + 24, i = 0;
    char **env = calloc(n, sizeof *env);
    char date[16];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%Y/%m/%d", &tm);
#define PUT(...)                                                                                  \
    do {                                                                                          \
        if (asprintf(&env[i], __VA_ARGS__) >= 0)                                                  \
            i++;                                                                                  \
    } while (0)
    /* Defaults the function's own env may replace (one entry per name). */
#define DEFAULT(key, ...)                                                                         \
    do {                                                                                          \
        if (!json_object_get(c->env, key))                                                        \
            PUT(key "=" __VA_ARGS__);                                                             \
    } while (0)
    DEFAULT("PATH", "/usr/local/bin:/usr/bin:/bin");
    DEFAULT("LANG", "C.UTF-8");
    DEFAULT("TZ", ":UTC");
    DEFAULT("HOME", "%s", inst->sb.backend != SANDBOX_PROCESS ? "/tmp" : task_dir);
    PUT("LAMBDA_TASK_ROOT=%s", task_dir);
    PUT("LAMBDA_RUNTIME_DIR=%s", runtime_dir);
    PUT("_HANDLER=%s", c->handler);
    PUT("AWS_LAMBDA_FUNCTION_NAME=%s", c->name);
    PUT("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", c->memory_mb);
    PUT("AWS_LAMBDA_FUNCTION_VERSION=$LATEST");
    PUT("AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/%s", c->name);
    PUT("AWS_LAMBDA_LOG_STREAM_NAME=%s/[$LATEST]%016llx", date, (unsigned long long)inst->id);
    PUT("AWS_EXECUTION_ENV=AWS_Lambda_%s", c->runtime);
    PUT("AWS_REGION=us-east-1");
    PUT("AWS_DEFAULT_REGION=us-east-1");
    if (strcmp(c->style, "lambda"))
        PUT("IMPULS_HANDLER_STYLE=%s", c->style);
    if (!strcmp(c->mode, "http")) {
        const runtime_def_t *rt = runtime_find(c->runtime);
        char entry[FN_HANDLER_MAX + 16];
        runtime_http_entry(rt, c->handler, entry, sizeof entry);
        PUT("IMPULS_HTTP_ENTRY=%s", entry);
        /* Empty: the handler is the server's executable (runtime provided). */
        PUT("IMPULS_HTTP_INTERPRETER=%s", !rt ? "/usr/bin/node" : rt->interpreter ? rt->interpreter : "");
        if (c->command) {
            char *cmd = json_dumps(c->command, JSON_COMPACT);
            if (cmd)
                PUT("IMPULS_HTTP_COMMAND=%s", cmd);
            free(cmd);
        }
        PUT("IMPULS_HTTP_READY_MS=%d", D->cfg.init_timeout_s * 1000 - 500);
    }
    DEFAULT("PYTHONDONTWRITEBYTECODE", "1");
    DEFAULT("PYTHONUNBUFFERED", "1");
    const char *k;
    json_t *v;
    json_object_foreach(c->env, k, v) PUT("%s=%s", k, json_string_value(v));
#undef DEFAULT
#undef PUT
    env[i] = NULL;
    return env;
}

static void free_env(char **env)
{
    for (char **e = env; *e; e++)
        free(*e);
    free(env);
}

instance_t *instance_spawn(pool_t *pool)
{
    fn_t *fn = pool->fn;
    const runtime_def_t *rt = runtime_find(fn->cfg.runtime);
    if (!rt)
        return NULL;
    instance_t *inst = calloc(1, sizeof *inst);
    inst->id = ++D->next_instance_id;
    inst->pool = pool;
    inst->version = fn->cfg.version;
    inst->memory_mb = fn->cfg.memory_mb;
    inst->state = INST_STARTING;
    inst->sb.backend = pool->backend;
    inst->created_at = now_ms();
    inst->netns_fd = -1;
    snprintf(inst->task_key, sizeof inst->task_key, "%s", fn->cfg.task_key);

    char cgname[64], api_path[108];
    snprintf(cgname, sizeof cgname, "i-%llu", (unsigned long long)inst->id);
    snprintf(api_path, sizeof api_path, "%s/i-%llu.sock", D->cfg.vm_run_dir, (unsigned long long)inst->id);
    sandbox_spec_t spec = {
        .backend = pool->backend,
        .task_dir = fn->task_dir,
        .runtime_dir = D->cfg.runtime_dir,
        .root_mnt = D->cfg.root_mnt,
        .cgroup_name = cgname,
        .memory_mb = fn->cfg.memory_mb,
        .pids_max = D->cfg.pids_max,
        .tmp_mb = D->cfg.tmp_mb,
        .cpu_weight = instance_cpu_weight(&fn->cfg),
        .uid = instance_uid(inst->id),
        .vm_dir = D->cfg.vm_dir,
        .vm_state_dir = D->cfg.vm_state_dir,
        .vm_api_path = api_path,
    };
    const char *task_dir, *runtime_dir;
    sandbox_paths(pool->backend, &spec, &task_dir, &runtime_dir);
    char bootstrap[4096];
    const char *argv[8];
    if (!strcmp(fn->cfg.mode, "http")) {
        /* The shim (Node) starts the function's server with its interpreter. */
        snprintf(bootstrap, sizeof bootstrap, "%s/http/bootstrap.js", runtime_dir);
        argv[0] = runtime_find("nodejs20")->interpreter;
        argv[1] = bootstrap;
        argv[2] = NULL;
    } else {
        runtime_argv(rt, runtime_dir, task_dir, bootstrap, argv);
    }
    char **env = build_env(inst, task_dir, runtime_dir);
    /* Python only: Node seeds its OpenSSL generator as it starts, and that
     * state would be cloned into every VM restored from the saved one. */
    const runtime_def_t *early;
    spec.vm_prestart = runtime_starts_early(pool, &early) && early->lang == LANG_PYTHON;
    spec.argv = argv;
    spec.envp = (const char *const *)env;
    spec.resolv_conf = egress_resolv_conf();

    char err[512];
    if (fn_egress_lease(inst, err, sizeof err) < 0) {
        log_error("function %s: cannot start an instance: %s", fn->cfg.name, err);
        free_env(env);
        free(inst);
        return NULL;
    }
    spec.egress = inst->egress.held ? &inst->egress : NULL;
    inst->spawned_ms = mono_ms();
    /* From the function's zygote if it has one ready, else a pre-made
     * sandbox if one is ready, else a new one. */
    int rc = pool->backend == SANDBOX_NAMESPACE ? zygote_spawn(inst, env, err, sizeof err) : -1;
    if (rc == -1) {
        inst->premade = pool->backend == SANDBOX_NAMESPACE && shell_take(inst, env);
        rc = inst->premade ? 0 : sandbox_spawn(&spec, &inst->sb, err, sizeof err);
    }
    free_env(env);
    if (rc == -1) {
        log_error("function %s: cannot start an instance: %s", fn->cfg.name, err);
        egress_lease_release(&inst->egress);
        free(inst);
        return NULL;
    }
    fn_ref(fn);
    inst->next = D->instances;
    D->instances = inst;
    inst->pool_next = pool->instances;
    pool->instances = inst;
    pool->n_instances++;
    D->n_instances++;
    pool->n_starting++;
    if (rc < 0) { /* spawned but failed: reaped like any dead instance */
        log_error("function %s: %s", fn->cfg.name, err);
        leave_state(inst);
        inst->state = INST_DYING;
        return inst;
    }
    inst->log_budget = LOG_MAX_PER_CALL;
    inst->log_ev = event_new(D->base, inst->sb.log_fd, EV_READ | EV_PERSIST, on_log, inst);
    event_add(inst->log_ev, NULL);
    inst->idle_ev = evtimer_new(D->base, on_idle, inst);
    /* The same timer bounds init: a runtime that never asks for work goes.
     * A VM's gets the time a boot may take on top (the first cold start of
     * its size boots the generic VM it saves; under TCG that is seconds). */
    struct timeval init_tv = {.tv_sec = D->cfg.init_timeout_s +
                                        (pool->backend == SANDBOX_MICROVM ? MICROVM_BOOT_ALLOWANCE_S : 0)};
    evtimer_add(inst->idle_ev, &init_tv);
    if (inst->sb.rapi_fd >= 0) {
        serve_runtime_api(inst);
    } else {
        inst->ctl_ev = event_new(D->base, inst->sb.ctl_fd, EV_READ | EV_PERSIST, on_ctl, inst);
        event_add(inst->ctl_ev, NULL);
    }
    log_debug("function %s: instance %llu started (pid %d)", fn->cfg.name,
              (unsigned long long)inst->id, (int)inst->sb.pid);
    return inst;
}

static void on_ctl(evutil_socket_t fd, short what, void *arg)
{
    instance_t *inst = arg;
    errno = 0;
    int rfd = sandbox_take_rapi_fd(&inst->sb);
    if (rfd < 0 && (errno == EAGAIN || errno == EINTR))
        return; /* not yet */
    event_del(inst->ctl_ev);
    if (rfd < 0)
        return; /* init died first; the reaper cleans up */
    serve_runtime_api(inst);
}

static void leave_state(instance_t *inst)
{
    pool_t *p = inst->pool;
    if (inst->state == INST_STARTING)
        p->n_starting--;
    if (inst->state == INST_DYING)
        return;
    D->n_instances--;
    if (--p->n_instances == 0)
        zygote_stop(p); /* none left to share it */
}

bool instance_make_room(const pool_t *filling)
{
    if (D->n_instances < D->cfg.max_instances)
        return true;
    instance_t *oldest = NULL;
    for (instance_t *i = D->instances; i; i = i->next)
        if (i->state == INST_IDLE && !i->pool->fn->pinned && i->pool != filling && !provision_keeps(i->pool) &&
            (!oldest || i->idle_since_ms < oldest->idle_since_ms))
            oldest = i;
    if (!oldest)
        return false;
    log_info("--max-instances %d reached: instance %llu of %s, idle the longest, stops to make room",
             D->cfg.max_instances, (unsigned long long)oldest->id, oldest->pool->fn->cfg.name);
    instance_kill(oldest);
    return true;
}

void instance_kill(instance_t *inst)
{
    if (inst->state == INST_DYING)
        return;
    leave_state(inst);
    inst->state = INST_DYING;
    if (inst->idle_ev)
        evtimer_del(inst->idle_ev);
    sandbox_kill(&inst->sb);
}

/* Writes what ends a line (with the start held from before) to the
 * function's log, and holds the rest. */
static void log_whole_lines(instance_t *inst, const char *buf, size_t n)
{
    const char *nl = memrchr(buf, '\n', n);
    fn_t *fn = inst->pool->fn;
    if (!nl) {
        if (inst->log_partial_len + n <= sizeof inst->log_partial) {
            memcpy(inst->log_partial + inst->log_partial_len, buf, n);
            inst->log_partial_len += n;
            return;
        }
        nl = buf + n - 1; /* a line longer than what is held: as it comes */
    }
    size_t whole = (size_t)(nl - buf) + 1;
    if (inst->log_partial_len) {
        char joined[LOG_LINE_HOLD + 65536];
        if (inst->log_partial_len + whole <= sizeof joined) {
            memcpy(joined, inst->log_partial, inst->log_partial_len);
            memcpy(joined + inst->log_partial_len, buf, whole);
            fn_log_write(fn, joined, inst->log_partial_len + whole);
        } else {
            fn_log_write(fn, inst->log_partial, inst->log_partial_len);
            fn_log_write(fn, buf, whole);
        }
        inst->log_partial_len = 0;
    } else {
        fn_log_write(fn, buf, whole);
    }
    if (whole < n)
        log_whole_lines(inst, buf + whole, n - whole);
}

/* What is held of an unfinished line goes to the log as it is (the call
 * or the instance ended). */
static void log_flush_partial(instance_t *inst)
{
    if (inst->log_partial_len)
        fn_log_write(inst->pool->fn, inst->log_partial, inst->log_partial_len);
    inst->log_partial_len = 0;
}

static void append_log(instance_t *inst, const char *buf, size_t n)
{
    if (inst->log_budget == 0)
        return; /* a flood: the rest of this call's output is dropped */
    if (n > inst->log_budget) {
        n = inst->log_budget;
        inst->log_budget = 0;
    } else {
        inst->log_budget -= n;
    }
    log_whole_lines(inst, buf, n);
    invocation_t *inv = inst->inv;
    if (inv) {
        evbuffer_add(inv->log, buf, n);
        size_t len = evbuffer_get_length(inv->log);
        if (len > LOG_KEEP)
            evbuffer_drain(inv->log, len - LOG_KEEP);
    }
    if (inst->log_budget == 0) {
        static const char note[] = "[impuls] log output of this invocation truncated\n";
        log_flush_partial(inst);
        fn_log_write(inst->pool->fn, note, sizeof note - 1);
    }
}

void instance_drain_log(instance_t *inst)
{
    if (inst->sb.log_fd < 0)
        return;
    char buf[65536];
    for (int rounds = 0; rounds < 64; rounds++) { /* bounded: a flood can't stall the loop */
        ssize_t n = read(inst->sb.log_fd, buf, sizeof buf);
        if (n <= 0)
            break;
        append_log(inst, buf, (size_t)n);
    }
    /* Every caller is at a boundary (a call's start or end, the instance's
     * end): what the function left unfinished is its own line. */
    log_flush_partial(inst);
}

void instance_end_log_line(instance_t *inst)
{
    log_flush_partial(inst);
}

static void on_log(evutil_socket_t fd, short what, void *arg)
{
    instance_t *inst = arg;
    char buf[65536];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
        append_log(inst, buf, (size_t)n);
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        event_del(inst->log_ev); /* all writers gone */
    }
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
    instance_t *inst = arg;
    if (inst->state == INST_STARTING) {
        log_warn("function %s: instance %llu did not finish init within %d s", inst->pool->fn->cfg.name,
                 (unsigned long long)inst->id, D->cfg.init_timeout_s);
        inst->init_timed_out = true;
        instance_kill(inst);
        return;
    }
    fn_t *fn = inst->pool->fn;
    if (provision_keeps(inst->pool)) {
        /* Provisioned: kept however long it is idle, and looked at again
         * an idle period later (it may not be provisioned by then). */
        struct timeval tv = {.tv_sec = fn->cfg.idle_timeout_s};
        evtimer_add(inst->idle_ev, &tv);
        return;
    }
    log_debug("function %s: reaping idle instance %llu", inst->pool->fn->cfg.name,
              (unsigned long long)inst->id);
    instance_kill(inst);
}

static void on_next_closed(struct evhttp_connection *conn, void *arg)
{
    instance_t *inst = arg;
    inst->parked_next = NULL; /* the callback is set only while a /next is parked */
}

void instance_park(instance_t *inst, struct evhttp_request *req)
{
    inst->parked_next = req;
    http_hold(req);
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), on_next_closed, inst);
}

void instance_next(instance_t *inst, struct evhttp_request *req)
{
    pool_t *pool = inst->pool;
    if (inst->state == INST_STARTING) {
        pool->n_starting--;
        inst->state = INST_BUSY;
        inst->init_ms = mono_ms() - inst->spawned_ms;
        provision_ready(pool->fn);
        if (inst->from_zygote)
            zygote_clone_result(pool, true);
        if (pool->fn->watch.ready)
            pool->fn->watch.ready(pool->fn->watch.arg, (int)inst->sb.pid);
    }
    /* No answer where the instance is going away: the request waits, not
     * read from (see http_hold), until the instance's Runtime API is freed. */
    if (inst->state == INST_DYING) {
        http_hold(req);
        return;
    }
    if (inst->version != pool->fn->cfg.version || pool->fn->removed) {
        http_hold(req);
        instance_kill(inst); /* retired: the function changed under it */
        pool_pump(pool);
        return;
    }
    invocation_t *inv = TAILQ_FIRST(&pool->queue);
    if (inv) {
        TAILQ_REMOVE(&pool->queue, inv, link);
        pool->n_queued--;
        inv->queued = false;
        invocation_deliver(inv, inst, req);
        if (pool->n_queued > 0)
            pool_pump(pool); /* the rest may need more instances (see scale_up_allowance) */
        return;
    }
    if (D->draining) { /* shutting down: no more warm instances */
        http_hold(req);
        instance_kill(inst);
        return;
    }
    inst->state = INST_IDLE;
    inst->idle_since_ms = mono_ms();
    instance_park(inst, req);
    if (pool->fn->pinned) {
        evtimer_del(inst->idle_ev); /* the init (or return-for-work) guard: done */
        return;                     /* it lives until it is stopped */
    }
    struct timeval tv = {.tv_sec = pool->fn->cfg.idle_timeout_s};
    evtimer_add(inst->idle_ev, &tv);
}

void instance_release_inv(instance_t *inst)
{
    inst->inv = NULL;
    inst->log_budget = LOG_MAX_PER_CALL;
    const fn_t *fn = inst->pool->fn;
    /* Retired (the function changed or went), or single-use (reuse: false). */
    if (inst->version != fn->cfg.version || fn->removed || !fn->cfg.reuse) {
        instance_kill(inst);
        return;
    }
    /* A direct call left the runtime's /next parked: it is ready at once. */
    if (inst->parked_next) {
        instance_next(inst, inst->parked_next);
        return;
    }
    /* A runtime that answers but never asks for more work is not kept. */
    struct timeval tv = {.tv_sec = D->cfg.init_timeout_s};
    evtimer_add(inst->idle_ev, &tv);
}

static void instance_free(instance_t *inst)
{
    for (instance_t **p = &D->instances; *p; p = &(*p)->next)
        if (*p == inst) {
            *p = inst->next;
            break;
        }
    for (instance_t **p = &inst->pool->instances; *p; p = &(*p)->pool_next)
        if (*p == inst) {
            *p = inst->pool_next;
            break;
        }
    if (inst->ctl_ev)
        event_free(inst->ctl_ev);
    if (inst->log_ev)
        event_free(inst->log_ev);
    if (inst->idle_ev)
        event_free(inst->idle_ev);
    if (inst->rapi) {
        inst->parked_next = NULL;
        evhttp_free(inst->rapi); /* closes its connections and parked requests */
        conn_limit_free(inst->rapi_conns);
    }
    if (inst->netns_fd >= 0)
        close(inst->netns_fd);
    sandbox_release(&inst->sb);
    egress_lease_release(&inst->egress);
    json_decref(inst->init_error);
    /* Its code dir outlived an update or delete while it ran: remove it now
     * (store_gc_code keeps it if a function still refers to it). */
    if (!pool_task_in_use(inst->task_key))
        store_gc_code(D->store, "", inst->task_key);
    fn_unref(inst->pool->fn);
    free(inst);
}

bool pool_task_in_use(const char *task_key)
{
    for (instance_t *i = D->instances; i; i = i->next)
        if (!strcmp(i->task_key, task_key))
            return true;
    return false;
}

static void format_exit(int status, char *out, size_t len)
{
    if (WIFSIGNALED(status))
        snprintf(out, len, "signal: %s", strsignal(WTERMSIG(status)));
    else
        snprintf(out, len, "exit status %d", WEXITSTATUS(status));
}

/* The sandbox's main process is gone: answer whoever waited on it. */
static void instance_exited(instance_t *inst, int status)
{
    pool_t *pool = inst->pool;
    instance_drain_log(inst);
    char how[128], msg[700], vm_reason[512];
    bool oom = sandbox_exit_info(&inst->sb, status, vm_reason, sizeof vm_reason);
    format_exit(status, how, sizeof how);
    /* Init exits with 128+N when the runtime died of signal N. */
    if (WIFEXITED(status) && WEXITSTATUS(status) > 128)
        snprintf(how, sizeof how, "signal: %s", strsignal(WEXITSTATUS(status) - 128));
    bool was_starting = inst->state == INST_STARTING || inst->init_timed_out;
    if (inst->from_zygote && was_starting && !inst->init_error && !oom)
        zygote_clone_result(pool, false);
    leave_state(inst);
    inst->state = INST_DYING;
    invocation_t *inv = inst->inv;
    if (!inv && was_starting) {
        /* It died during init: the call that was waiting for it fails. */
        inv = TAILQ_FIRST(&pool->queue);
        if (inv) {
            TAILQ_REMOVE(&pool->queue, inv, link);
            pool->n_queued--;
            inv->queued = false;
        }
    }
    if (inv) {
        inv->inst = NULL;
        inst->inv = NULL;
        if (oom) {
            snprintf(msg, sizeof msg, "Runtime exited: out of memory (limit %d MB)", inst->memory_mb);
            invocation_respond_error(inv, 502, "Runtime.OutOfMemory", msg, NULL);
        } else if (was_starting && inst->init_error) {
            json_t *e = inst->init_error;
            invocation_respond_error(inv, 502, json_string_value(json_object_get(e, "errorType")),
                                     json_string_value(json_object_get(e, "errorMessage")),
                                     json_object_get(e, "stackTrace"));
        } else if (was_starting && WIFEXITED(status) && WEXITSTATUS(status) == 127) {
            invocation_respond_error(inv, 502, "Runtime.InvalidEntrypoint",
                                     "the runtime's executable could not be started (missing or not executable; "
                                     "see the function's log)", NULL);
        } else if (vm_reason[0] && !inst->init_timed_out) {
            snprintf(msg, sizeof msg, "the microVM ended: %s", vm_reason);
            invocation_respond_error(inv, 502, "Runtime.ExitError", msg, NULL);
        } else if (inst->init_timed_out) {
            snprintf(msg, sizeof msg, "the function's init did not finish within %d seconds", D->cfg.init_timeout_s);
            invocation_respond_error(inv, 502, "Runtime.InitTimeout", msg, NULL);
        } else {
            snprintf(msg, sizeof msg, "Runtime exited with error: %s", how);
            invocation_respond_error(inv, 502, "Runtime.ExitError", msg, NULL);
        }
    }
    log_debug("function %s: instance %llu exited (%s)", pool->fn->cfg.name,
              (unsigned long long)inst->id, how);
    fn_t *fn = pool->fn;
    if (fn->watch.exited)
        fn->watch.exited(fn->watch.arg, WIFEXITED(status) && WEXITSTATUS(status) == 0, how);
    fn_ref(fn); /* the instance may hold the last reference */
    instance_free(inst);
    pool_pump(pool);
    provision_after_exit(fn, was_starting);
    fn_unref(fn);
}

void pool_reap(void)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        instance_t *i = D->instances;
        while (i && i->sb.pid != pid)
            i = i->next;
        if (i)
            instance_exited(i, status);
        else if (!shells_reap(pid))
            zygotes_reap(pid);
    }
}

void pool_kill_all(void)
{
    for (instance_t *i = D->instances; i; i = i->next)
        instance_kill(i);
    shells_kill_all();
    zygotes_kill_all();
}

int pool_instance_count(void)
{
    int n = 0;
    for (instance_t *i = D->instances; i; i = i->next)
        n++;
    return n;
}

json_t *pool_instances_json(fn_t *fn)
{
    static const char *states[] = {"starting", "idle", "busy", "dying"};
    json_t *arr = json_array();
    for (instance_t *i = D->instances; i; i = i->next) {
        if (fn && i->pool->fn != fn && !(i->pool->fn->published && !strcmp(i->pool->fn->cfg.name, fn->cfg.name)))
            continue; /* (a function's instances are its versions' too) */
        char created[32];
        iso8601(created, i->created_at);
        json_array_append_new(
            arr, json_pack("{s:I, s:s, s:s, s:i, s:s, s:i, s:s, s:b, s:b}", "id", (json_int_t)i->id, "function",
                           i->pool->fn->cfg.name, "state",
                           i->state == INST_BUSY && !i->inv ? "returning" : states[i->state], "pid", (int)i->sb.pid,
                           "isolation", sandbox_backend_name(i->sb.backend),
                           "version", i->version, "created_at", created, "premade", i->premade,
                           "zygote", i->from_zygote));
    }
    return arr;
}
