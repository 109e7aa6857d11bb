/* An invocation's life: queued (or handed straight to an idle instance),
 * delivered as the answer to the runtime's /next, answered when the runtime
 * posts a response or an error, or failed by timeout, crash or overload.
 * Each answer carries the request id and duration, and the function's log
 * gets Lambda's START / END / REPORT lines around what the function printed. */
#include <event2/event.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>

#include "http/http_util.h"
#include "pool/internal.h"
#include "util/cpu_busy.h"
#include "util/lambda_arn.h"
#include "util/log.h"
#include "util/util.h"

/* While calls are in flight the machine's CPU is looked at every period, so
 * that a call that queues finds the share of the last period: a look made
 * only when a call waits would just start one, and the first call that
 * waits after a quiet spell would never see saturation. */
static bool cpu_look_pending;
static void keep_cpu_looks(void);

static void on_cpu_look(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    cpu_look_pending = false;
    if (D->n_inflight > 0)
        keep_cpu_looks();
}

static void keep_cpu_looks(void)
{
    if (cpu_look_pending)
        return;
    cpu_saturated(mono_ms());
    struct timeval tv = {0, (CPU_PRESSURE_PERIOD_MS + 1) * 1000}; /* (+1: a look a hair early answers the last) */
    /* (a once-event: libevent frees it, also when the loop ends with it pending) */
    if (event_base_once(D->base, -1, EV_TIMEOUT, on_cpu_look, NULL, &tv) == 0)
        cpu_look_pending = true;
}

static void on_timer(evutil_socket_t fd, short what, void *arg);

static void on_client_closed(struct evhttp_connection *conn, void *arg)
{
    invocation_t *inv = arg;
    if (inv->conn == conn) {
        /* libevent frees the request with the connection, unless it detached
         * it first (an answer begun and not ended: a stream): then it is ours. */
        if (inv->req && !evhttp_request_get_connection(inv->req))
            evhttp_request_free(inv->req);
        inv->req = NULL;
        inv->conn = NULL;
        /* A direct call ends now (from the timer, not inside libevent's
         * teardown of the connection); others finish and are dropped. */
        if (inv->direct) {
            struct timeval now = {0, 0};
            evtimer_add(inv->timer, &now);
        }
    }
}

static void invocation_free(invocation_t *inv)
{
    if (inv->conn)
        evhttp_connection_set_closecb(inv->conn, NULL, NULL);
    if (inv->timer)
        event_free(inv->timer);
    direct_free(inv);
    free(inv->direct_path);
    if (inv->event)
        evbuffer_free(inv->event);
    evbuffer_free(inv->log);
    D->n_inflight--;
    fn_unref(inv->pool->fn);
    free(inv);
}

static void arm_timer(invocation_t *inv, int seconds)
{
    struct timeval tv = {.tv_sec = seconds};
    evtimer_add(inv->timer, &tv);
}

static void pool_invoke_inv(invocation_t *inv, fn_t *fn, enum sandbox_backend backend, struct evhttp_request *req,
                            struct evbuffer *event, bool want_log_tail);

void pool_invoke_direct(fn_t *fn, struct evhttp_request *req, const char *path, invoke_done_fn done, void *arg)
{
    invocation_t *inv = calloc(1, sizeof *inv);
    inv->direct_path = strdup(path);
    inv->done = done;
    inv->done_arg = arg;
    pool_invoke_inv(inv, fn, SANDBOX_NAMESPACE, req, NULL, false);
}

void pool_invoke(fn_t *fn, enum sandbox_backend backend, struct evbuffer *event, bool want_log_tail,
                 invoke_done_fn done, void *arg)
{
    invocation_t *inv = calloc(1, sizeof *inv);
    inv->done = done;
    inv->done_arg = arg;
    pool_invoke_inv(inv, fn, backend, NULL, event, want_log_tail);
}

void pool_invoke_as(fn_t *fn, struct evbuffer *event, const char *request_id, invoke_done_fn done, void *arg)
{
    invocation_t *inv = calloc(1, sizeof *inv);
    inv->done = done;
    inv->done_arg = arg;
    snprintf(inv->id, sizeof inv->id, "%s", request_id);
    pool_invoke_inv(inv, fn, SANDBOX_NAMESPACE, NULL, event, false);
}

static void pool_invoke_inv(invocation_t *inv, fn_t *fn, enum sandbox_backend backend, struct evhttp_request *req,
                            struct evbuffer *event, bool want_log_tail)
{
    pool_t *pool = backend == SANDBOX_PROCESS ? &fn->pools[SANDBOX_PROCESS] : fn_calls_pool(fn);
    if (!inv->id[0])
        uuid4(inv->id);
    inv->pool = pool;
    inv->req = req;
    if (req) { /* a direct call: its answer streams to req */
        inv->conn = evhttp_request_get_connection(req);
        http_hold(req);
        evhttp_connection_set_closecb(inv->conn, on_client_closed, inv);
    }
    inv->event = event;
    inv->log = evbuffer_new();
    inv->want_log_tail = want_log_tail;
    inv->enqueued_ms = mono_ms();
    inv->timer = evtimer_new(D->base, on_timer, inv);
    fn_ref(fn);
    D->n_inflight++;
    keep_cpu_looks();

    if (fn->cfg.concurrency == 0) { /* (Lambda's reserved concurrency 0) */
        invocation_respond_error(inv, 429, "TooManyRequestsException",
                                 "the function's concurrency is 0: every call is throttled", NULL);
        return;
    }
    for (instance_t *i = pool->instances; i; i = i->pool_next)
        if (i->state == INST_IDLE && i->parked_next && i->version == fn->cfg.version) {
            invocation_deliver(inv, i, i->parked_next);
            return;
        }
    if (pool->n_queued >= D->cfg.queue_max) {
        invocation_respond_error(inv, 429, "TooManyRequestsException",
                                 "the function is at its concurrency limit and its queue is full", NULL);
        return;
    }
    TAILQ_INSERT_TAIL(&pool->queue, inv, link);
    pool->n_queued++;
    inv->queued = true;
    /* Waiting for an instance (and its init) is bounded too. */
    arm_timer(inv, fn->cfg.timeout_s + D->cfg.init_timeout_s);
    pool_pump(pool);
}

static void on_scale_delay(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pool_pump(arg);
}

/* pool_pump again in `ms` (unless already due sooner). */
static void arm_scale_timer(pool_t *pool, double ms)
{
    if (!pool->scale_ev)
        pool->scale_ev = evtimer_new(D->base, on_scale_delay, pool);
    if (!pool->scale_ev || evtimer_pending(pool->scale_ev, NULL))
        return;
    long us = (long)(ms * 1000) + 1;
    struct timeval tv = {.tv_sec = us / 1000000, .tv_usec = us % 1000000};
    evtimer_add(pool->scale_ev, &tv);
}

/* How many instances may be started now for `need` queued calls while
 * `busy` instances are running calls. A hello call takes ~0.1 ms and a cold
 * start some ms of CPU: starting an instance for every call that finds the
 * others busy a moment before they are free only multiplies instances
 * (memory, context switches, and the cold starts' CPU, which make the next
 * calls wait longer still). So with instances running, a queued call first
 * waits up to the scale-up delay for one of them, and instances are then
 * added one per delay. With no running instance, or a delay of 0, all that
 * are needed are started at once, as Lambda does. */
enum { LOOK_WAIT_MS = 2 * CPU_PRESSURE_PERIOD_MS }; /* the most a call waits for a look after it queued */

static int scale_up_allowance(pool_t *pool, int busy, int need)
{
    int delay = D->cfg.scale_delay_ms;
    if (busy <= 0 || delay <= 0)
        return need;
    double now = mono_ms();
    double waited = now - TAILQ_FIRST(&pool->queue)->enqueued_ms;
    double since = now - pool->last_scale_ms;
    /* On saturated cores an instance more runs no call sooner: it adds a
     * cold start's CPU and the switching between more runnable processes.
     * So while the machine's CPU is saturated (util/cpu_busy.h: busy, or
     * its tasks waiting for a CPU), a queued call waits up to
     * --saturated-wait for one of the busy instances before the one-per-
     * delay scaling goes on (an instance blocked on I/O leaves the CPU idle,
     * and then nothing waits longer than before). */
    int saturated = cpu_saturated(now);
    double enqueued = now - waited;
    if (waited < D->cfg.saturated_wait_ms && waited < LOOK_WAIT_MS &&
        cpu_last_look_ms() < enqueued + CPU_PRESSURE_PERIOD_MS / 2) {
        /* The last look saw (mostly) the time before this call queued, and
         * a quiet spell before a burst looks unsaturated: wait for the next
         * look, a pressure period on. Bounded: without PSI looks come every
         * busy period, and without /proc none comes at all. */
        arm_scale_timer(pool, CPU_PRESSURE_PERIOD_MS / 2 + 1);
        return 0;
    }
    if (waited < D->cfg.saturated_wait_ms && saturated > 0) {
        arm_scale_timer(pool, delay);
        return 0;
    }
    if (waited >= delay && since >= delay) {
        pool->last_scale_ms = now;
        if (need > 1)
            arm_scale_timer(pool, delay); /* the next one, if calls still wait then */
        return 1;
    }
    arm_scale_timer(pool, delay - (waited < since ? waited : since));
    return 0;
}

void pool_pump(pool_t *pool)
{
    fn_t *fn = pool->fn;
    if (fn->removed || pool->n_queued == 0)
        return;
    if (fn->pinned) { /* its one instance takes the calls, or nothing does */
        if (pool->n_instances == 0)
            invocation_fail_queued(pool, 503, "ServiceUnavailable", "the chamber is not running");
        return;
    }
    /* Instances on their way back from a call will take queued work too;
     * busy ones (of this version, reused) will when their call ends. */
    int returning = 0, busy = 0;
    for (instance_t *i = pool->instances; i; i = i->pool_next)
        if (i->state == INST_BUSY && i->version == fn->cfg.version && fn->cfg.reuse) {
            if (i->inv)
                busy++;
            else
                returning++;
        }
    int need = pool->n_queued - pool->n_starting - returning;
    if (need > 0 && pool->n_instances < fn->cfg.concurrency)
        need = scale_up_allowance(pool, busy, need);
    while (need-- > 0 && pool->n_instances < fn->cfg.concurrency) {
        if (zygote_wait(pool) && !shell_ready(pool))
            return; /* zygotes.c pumps again once its zygote is ready or gone */
        if (!instance_make_room(pool)) {
            /* Every instance of the daemon is busy: the calls wait for the
             * function's own, or, with none, are throttled as Lambda's are
             * at the account's concurrency limit. */
            if (pool->n_instances == 0) {
                char why[160];
                snprintf(why, sizeof why,
                         "Rate Exceeded: the daemon runs its most instances at once (--max-instances %d), every one busy",
                         D->cfg.max_instances);
                invocation_fail_queued(pool, 429, "TooManyRequestsException", why);
            }
            return;
        }
        if (!instance_spawn(pool)) {
            invocation_fail_queued(pool, 502, "Runtime.StartFailed",
                                   "cannot start an instance of the function (see the daemon's log)");
            return;
        }
    }
}

void invocation_log_start(invocation_t *inv)
{
    inv->started_ms = mono_ms();
    char line[128];
    char version[16] = "$LATEST";
    if (inv->pool->fn->published)
        snprintf(version, sizeof version, "%d", inv->pool->fn->published);
    int n = snprintf(line, sizeof line, "START RequestId: %s Version: %s\n", inv->id, version);
    fn_log_write(inv->pool->fn, line, (size_t)n);
    evbuffer_add(inv->log, line, (size_t)n);
}

void invocation_retry(invocation_t *inv)
{
    instance_t *inst = inv->inst;
    direct_free(inv);
    if (inst) {
        inst->inv = NULL;
        inv->inst = NULL;
        instance_kill(inst);
    }
    if (++inv->retries > 2)
        return invocation_respond_error(inv, 502, "Runtime.HttpServerError",
                                        "the function's server is not listening on port 8000", NULL);
    pool_t *pool = inv->pool;
    TAILQ_INSERT_HEAD(&pool->queue, inv, link);
    pool->n_queued++;
    inv->queued = true;
    arm_timer(inv, pool->fn->cfg.timeout_s + D->cfg.init_timeout_s);
    pool_pump(pool);
}

void invocation_deliver(invocation_t *inv, instance_t *inst, struct evhttp_request *next_req)
{
    fn_t *fn = inst->pool->fn;
    /* Output from before this call is not its own, so this comes before the
     * instance is the call's. A warm call does not read the pipe for it (a
     * syscall per call): what the instance printed between calls is in the
     * log already unless it came in the same turn of the loop, and then it
     * is logged within this call, as on Lambda, where such output shows in
     * the next invocation's log. Init output is read: it comes before the
     * first START. The end of a call always reads: a runtime's output must
     * come before its END line, and epoll does not promise to report its
     * pipe before its post (without that read tests/e2e/test_log_order.py
     * failed in 3 of 20 runs). */
    if (inst->first_served)
        instance_end_log_line(inst);
    else
        instance_drain_log(inst);
    inv->inst = inst;
    inst->inv = inv;
    inst->state = INST_BUSY;
    evtimer_del(inst->idle_ev);
    if (inv->direct_path) {
        instance_park(inst, next_req); /* the runtime waits on, untouched */
    } else {
        inst->parked_next = NULL;
        struct evhttp_connection *next_conn = evhttp_request_get_connection(next_req);
        if (next_conn)
            evhttp_connection_set_closecb(next_conn, NULL, NULL);
    }
    sandbox_reset_peak(&inst->sb);
    if (inv->direct_path) {
        arm_timer(inv, fn->cfg.timeout_s);
        direct_deliver(inv, inst); /* it says when the call started */
        return;
    }
    invocation_log_start(inv);

    struct evkeyvalq *h = evhttp_request_get_output_headers(next_req);
    char deadline[32], arn[LAMBDA_ARN_MAX];
    snprintf(deadline, sizeof deadline, "%llu", (unsigned long long)(now_ms() + (uint64_t)fn->cfg.timeout_s * 1000));
    char version[16] = "";
    if (fn->published)
        snprintf(version, sizeof version, "%d", fn->published);
    lambda_function_arn(arn, fn->cfg.name, version);
    evhttp_add_header(h, "Lambda-Runtime-Aws-Request-Id", inv->id);
    evhttp_add_header(h, "Lambda-Runtime-Deadline-Ms", deadline);
    evhttp_add_header(h, "Lambda-Runtime-Invoked-Function-Arn", arn);
    /* An X-Ray style trace id, as Lambda gives one to every call. */
    char trace[96];
    snprintf(trace, sizeof trace, "Root=1-%08llx-%.8s%.4s%.4s%.8s;Parent=%.4s%.12s;Sampled=0",
             (unsigned long long)(now_ms() / 1000), inv->id, inv->id + 9, inv->id + 14, inv->id + 24, inv->id + 19,
             inv->id + 24);
    evhttp_add_header(h, "Lambda-Runtime-Trace-Id", trace);
    evhttp_add_header(h, "Content-Type", "application/json");
    http_reply(next_req, 200, "OK", inv->event);
    arm_timer(inv, fn->cfg.timeout_s);
}

/* Writes END and REPORT, detaches the instance and the queue. Returns the
 * call's duration. */
static double account(invocation_t *inv)
{
    direct_free(inv);
    fn_t *fn = inv->pool->fn;
    instance_t *inst = inv->inst;
    double duration = inv->started_ms > 0 ? mono_ms() - inv->started_ms : 0;
    if (inv->started_ms > 0) {
        int max_mb = 0;
        double init_ms = -1;
        if (inst) {
            instance_drain_log(inst);
            int64_t peak = sandbox_memory_peak(&inst->sb);
            max_mb = peak > 0 ? (int)((peak + (1 << 20) - 1) >> 20) : 0;
            if (!inst->first_served) {
                inst->first_served = true;
                init_ms = inst->init_ms;
            }
            metrics_count_start(inst, init_ms, peak);
        }
        char init[64] = "";
        if (init_ms >= 0)
            snprintf(init, sizeof init, "\tInit Duration: %.2f ms", init_ms);
        char lines[512];
        int n = snprintf(lines, sizeof lines,
                         "END RequestId: %s\nREPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms"
                         "\tMemory Size: %d MB\tMax Memory Used: %d MB%s\n",
                         inv->id, inv->id, duration, (int)duration + 1, fn->cfg.memory_mb, max_mb, init);
        fn_log_write(fn, lines, (size_t)n);
        evbuffer_add(inv->log, lines, (size_t)n);
    }
    if (inst) {
        inv->inst = NULL;
        instance_release_inv(inst);
    }
    if (inv->queued) {
        TAILQ_REMOVE(&inv->pool->queue, inv, link);
        inv->pool->n_queued--;
        inv->queued = false;
    }
    return duration;
}

/* A streamed answer: ended properly, or cut (the client must not take a
 * truncated body for a whole one, so its connection is dropped). */
static void end_stream(invocation_t *inv, bool complete)
{
    if (inv->req) {
        evhttp_connection_set_closecb(inv->conn, NULL, NULL);
        if (complete)
            evhttp_send_reply_end(inv->req);
        else
            evhttp_connection_free(inv->conn);
        inv->conn = NULL;
        inv->req = NULL;
    }
    invocation_free(inv);
}

/* Accounts for the call, tells whoever started it how it ended, frees. A
 * direct call whose answer began streaming has no other answer to give,
 * and one whose client went away has nobody to tell. */
static void finish(invocation_t *inv, invoke_outcome_t *o)
{
    if (direct_streaming(inv)) { /* too late for another answer */
        metrics_count_call(inv->pool->fn, o, account(inv));
        return end_stream(inv, false);
    }
    o->duration_ms = account(inv);
    o->request_id = inv->id;
    metrics_count_call(inv->pool->fn, o, o->duration_ms);
    if (inv->want_log_tail) {
        size_t loglen = evbuffer_get_length(inv->log);
        size_t take = loglen > LOG_TAIL_BYTES ? LOG_TAIL_BYTES : loglen;
        o->log_tail = (const char *)evbuffer_pullup(inv->log, -1) + (loglen - take);
        o->log_tail_len = take;
    }
    bool tell = inv->done && (!inv->direct_path || inv->req);
    if (inv->req) { /* a direct call's client: the front end answers it now */
        evhttp_connection_set_closecb(inv->conn, NULL, NULL);
        inv->conn = NULL;
        inv->req = NULL;
    }
    if (tell)
        inv->done(o, inv->done_arg);
    invocation_free(inv);
}

void invocation_respond_result(invocation_t *inv, const char *body, size_t len)
{
    invoke_outcome_t o = {.kind = OUTCOME_RESULT, .body = body, .len = len};
    finish(inv, &o);
}

void invocation_respond_error(invocation_t *inv, int status, const char *error_type,
                              const char *message, json_t *stack)
{
    invoke_outcome_t o = {.kind = OUTCOME_ERROR, .status = status, .error_type = error_type, .message = message,
                          .stack = stack};
    finish(inv, &o);
}

void invocation_respond_function_error(invocation_t *inv, const char *body, size_t len,
                                       const char *type_header)
{
    invoke_outcome_t o = {.kind = OUTCOME_FUNCTION_ERROR, .body = body, .len = len, .error_type_header = type_header};
    finish(inv, &o);
}

void invocation_end_direct(invocation_t *inv, bool complete, const char *why)
{
    if (!direct_streaming(inv)) {
        char msg[320];
        snprintf(msg, sizeof msg, "the function's server failed the request: %s", why);
        return invocation_respond_error(inv, 502, "Runtime.HttpServerError", msg, NULL);
    }
    if (!complete) {
        char line[320];
        int n = snprintf(line, sizeof line, "[impuls] RequestId: %s the answer was cut short: %s\n", inv->id, why);
        fn_log_write(inv->pool->fn, line, (size_t)n);
    }
    invoke_outcome_t o = {.kind = complete ? OUTCOME_RESULT : OUTCOME_ERROR, .status = 502};
    metrics_count_call(inv->pool->fn, &o, account(inv));
    end_stream(inv, complete);
}

void invocation_fail_queued(pool_t *pool, int status, const char *error_type, const char *message)
{
    invocation_t *inv;
    while ((inv = TAILQ_FIRST(&pool->queue)))
        invocation_respond_error(inv, status, error_type, message, NULL);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    invocation_t *inv = arg;
    fn_t *fn = inv->pool->fn;
    char msg[128];
    if (inv->direct && !inv->req) {
        invocation_end_direct(inv, false, "the client closed the connection");
        return;
    }
    if (inv->queued) {
        snprintf(msg, sizeof msg, "no instance of the function became ready within %d seconds",
                 fn->cfg.timeout_s + D->cfg.init_timeout_s);
        invocation_respond_error(inv, 504, "Sandbox.Timedout", msg, NULL);
        return;
    }
    instance_t *inst = inv->inst;
    if (inst) {
        /* The whole instance goes: whatever the function was doing is stopped. */
        instance_drain_log(inst);
        inst->inv = NULL;
        inv->inst = NULL;
        instance_kill(inst);
    }
    snprintf(msg, sizeof msg, "Task timed out after %d.00 seconds", fn->cfg.timeout_s);
    invocation_respond_error(inv, 504, "Sandbox.Timedout", msg, NULL);
}
