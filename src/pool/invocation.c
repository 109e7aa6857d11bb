/* An invocation's life: queued (or handed straight to an idle instance),
 * delivered as the answer to the runtime's /next, answered when the runtime
 * posts a response or an error, or failed by timeout, crash or overload.
 * Each answer carries the request id and duration, and the function's log
 * gets Lambda's START / END / REPORT lines around what the function printed. */
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>

#include "api/result.h"
#include "http/http_util.h"
#include "pool/internal.h"
#include "util/base64.h"
#include "util/log.h"
#include "util/util.h"

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
    if (inv->event_copy)
        evbuffer_free(inv->event_copy);
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

void pool_invoke_direct(fn_t *fn, struct evhttp_request *req, const char *path)
{
    invocation_t *inv = calloc(1, sizeof *inv);
    inv->direct_path = strdup(path);
    pool_invoke_inv(inv, fn, SANDBOX_NAMESPACE, req, NULL, false);
}

void pool_invoke(fn_t *fn, enum sandbox_backend backend, struct evhttp_request *req,
                 struct evbuffer *event, bool want_log_tail)
{
    pool_invoke_inv(calloc(1, sizeof(invocation_t)), fn, backend, req, event, want_log_tail);
}

void pool_invoke_lambda(fn_t *fn, struct evhttp_request *req, struct evbuffer *event, bool want_log_tail)
{
    invocation_t *inv = calloc(1, sizeof *inv);
    inv->lambda = true;
    pool_invoke_inv(inv, fn, SANDBOX_NAMESPACE, req, event, want_log_tail);
}

void pool_invoke_apigw(fn_t *fn, struct evhttp_request *req, struct evbuffer *event)
{
    invocation_t *inv = calloc(1, sizeof *inv);
    inv->apigw = true;
    pool_invoke_inv(inv, fn, SANDBOX_NAMESPACE, req, event, false);
}

static void invoke_attempt(fn_t *fn, struct evbuffer *event, int attempt)
{
    invocation_t *inv = calloc(1, sizeof *inv);
    inv->attempt = attempt;
    inv->event_copy = evbuffer_new(); /* a real copy: retries copy it again */
    size_t len = evbuffer_get_length(event);
    evbuffer_add(inv->event_copy, len ? evbuffer_pullup(event, -1) : (unsigned char *)"", len);
    pool_invoke_inv(inv, fn, SANDBOX_NAMESPACE, NULL, event, false);
}

void pool_invoke_async(fn_t *fn, struct evbuffer *event) { invoke_attempt(fn, event, 1); }

/* Async calls waiting to be tried again. */
typedef struct retry {
    fn_t *fn;
    struct evbuffer *event;
    int attempt;
    struct event *timer;
    struct retry *next;
} retry_t;

static retry_t *retries;

static void retry_free(retry_t *r)
{
    for (retry_t **p = &retries; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    event_free(r->timer);
    if (r->event)
        evbuffer_free(r->event);
    fn_unref(r->fn);
    free(r);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    retry_t *r = arg;
    if (!r->fn->removed && !D->draining) {
        invoke_attempt(r->fn, r->event, r->attempt);
        r->event = NULL;
    }
    retry_free(r);
}

enum { ASYNC_ATTEMPTS = 3 };

/* An async call failed: once more later, if it has tries left. */
static void schedule_retry(invocation_t *inv, int status)
{
    fn_t *fn = inv->pool->fn;
    char line[256];
    if (inv->attempt >= ASYNC_ATTEMPTS || fn->removed || D->draining || !inv->event_copy) {
        int n = snprintf(line, sizeof line, "[impuls] async invocation %s failed (HTTP %d) after %d attempts; dropped\n",
                         inv->id, status, inv->attempt);
        fn_log_write(fn, line, (size_t)n);
        return;
    }
    retry_t *r = calloc(1, sizeof *r);
    r->fn = fn;
    fn_ref(fn);
    r->event = inv->event_copy;
    inv->event_copy = NULL;
    r->attempt = inv->attempt + 1;
    r->timer = evtimer_new(D->base, on_retry, r);
    r->next = retries;
    retries = r;
    struct timeval tv = {.tv_sec = inv->attempt}; /* 1 s, then 2 s */
    evtimer_add(r->timer, &tv);
    int n = snprintf(line, sizeof line, "[impuls] async invocation %s failed (HTTP %d); attempt %d in %d s\n", inv->id,
                     status, r->attempt, inv->attempt);
    fn_log_write(fn, line, (size_t)n);
}

void pool_drop_retries(void)
{
    while (retries)
        retry_free(retries);
}

static void pool_invoke_inv(invocation_t *inv, fn_t *fn, enum sandbox_backend backend, struct evhttp_request *req,
                            struct evbuffer *event, bool want_log_tail)
{
    if (D->cfg.isolation == SANDBOX_PROCESS)
        backend = SANDBOX_PROCESS; /* the daemon has no sandboxes to give */
    else if (backend != SANDBOX_PROCESS)
        backend = fn_backend(fn); /* namespace or microvm, as the function says */
    pool_t *pool = &fn->pools[backend];
    uuid4(inv->id);
    inv->pool = pool;
    inv->req = req;
    if (req) { /* an async call has no one to answer */
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
static int scale_up_allowance(pool_t *pool, int busy, int need)
{
    int delay = D->cfg.scale_delay_ms;
    if (busy <= 0 || delay <= 0)
        return need;
    double now = mono_ms();
    double waited = now - TAILQ_FIRST(&pool->queue)->enqueued_ms;
    double since = now - pool->last_scale_ms;
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
    int n = snprintf(line, sizeof line, "START RequestId: %s Version: $LATEST\n", inv->id);
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
    instance_drain_log(inst); /* output from before this call is not its own */
    if (inv->direct_path) {
        arm_timer(inv, fn->cfg.timeout_s);
        direct_deliver(inv, inst); /* it says when the call started */
        return;
    }
    invocation_log_start(inv);

    struct evkeyvalq *h = evhttp_request_get_output_headers(next_req);
    char deadline[32], arn[160];
    snprintf(deadline, sizeof deadline, "%llu", (unsigned long long)(now_ms() + (uint64_t)fn->cfg.timeout_s * 1000));
    snprintf(arn, sizeof arn, "arn:aws:lambda:us-east-1:000000000000:function:%s", fn->cfg.name);
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

/* Accounts for the call, sends the answer, frees. */
static void finish(invocation_t *inv, int status, json_t *headers, const char *body, size_t len,
                   const char *content_type)
{
    if (inv->attempt && (status >= 500 || status == 429 || json_object_get(headers, "X-Amz-Function-Error")))
        schedule_retry(inv, status);
    if (direct_streaming(inv)) { /* too late for another answer */
        account(inv);
        return end_stream(inv, false);
    }
    double duration = account(inv);
    if (inv->req) {
        struct evkeyvalq *h = evhttp_request_get_output_headers(inv->req);
        const char *k;
        json_t *v;
        json_object_foreach(headers, k, v)
        {
            size_t i;
            json_t *one;
            if (json_is_array(v)) /* Set-Cookie: one header each */
                json_array_foreach(v, i, one) evhttp_add_header(h, k, json_string_value(one));
            else
                evhttp_add_header(h, k, json_string_value(v));
        }
        if (content_type && !evhttp_find_header(h, "Content-Type"))
            evhttp_add_header(h, "Content-Type", content_type);
        evhttp_add_header(h, "X-Impuls-Request-Id", inv->id);
        char dur[32];
        snprintf(dur, sizeof dur, "%.3f", duration);
        evhttp_add_header(h, "X-Impuls-Duration-Ms", dur);
        if (inv->lambda) {
            evhttp_add_header(h, "X-Amz-Executed-Version", "$LATEST");
            evhttp_add_header(h, "x-amzn-RequestId", inv->id);
        }
        if (inv->want_log_tail) {
            size_t loglen = evbuffer_get_length(inv->log);
            size_t take = loglen > LOG_TAIL_BYTES ? LOG_TAIL_BYTES : loglen;
            unsigned char *tail = evbuffer_pullup(inv->log, -1) + (loglen - take);
            char *enc = malloc(take / 3 * 4 + 8);
            base64_encode(tail, take, enc);
            evhttp_add_header(h, inv->lambda ? "X-Amz-Log-Result" : "X-Impuls-Log-Result", enc);
            free(enc);
        }
        evhttp_connection_set_closecb(inv->conn, NULL, NULL);
        inv->conn = NULL;
        http_send(inv->req, status, body, len);
        inv->req = NULL;
    }
    invocation_free(inv);
}

/* The Lambda Invoke API: a function or runtime error is still a 200, with
 * X-Amz-Function-Error and the error object as the payload. */
static void lambda_function_error(invocation_t *inv, const char *body, size_t len)
{
    json_t *h = json_pack("{s:s}", "X-Amz-Function-Error", "Unhandled");
    finish(inv, 200, h, body, len, "application/json");
    json_decref(h);
}

void invocation_respond_result(invocation_t *inv, const char *body, size_t len)
{
    if (inv->lambda || inv->attempt) { /* the payload as it is */
        json_t *none = json_object();
        finish(inv, 200, none, body, len, "application/json");
        json_decref(none);
        return;
    }
    http_result_t r;
    if (result_map(body, len, inv->apigw, &r) < 0) {
        invocation_respond_error(inv, 502, "Runtime.MalformedResult", r.error, NULL);
        return;
    }
    finish(inv, r.status, r.headers, r.body, r.body_len, NULL);
    http_result_clear(&r);
}

void invocation_respond_error(invocation_t *inv, int status, const char *error_type,
                              const char *message, json_t *stack)
{
    if ((inv->lambda || inv->attempt) && (status == 500 || status == 502 || status == 504)) {
        json_t *e = json_pack("{s:s, s:s, s:o}", "errorType", error_type, "errorMessage", message, "stackTrace",
                              stack ? json_incref(stack) : json_array());
        char *s = json_dumps(e, JSON_COMPACT);
        json_decref(e);
        lambda_function_error(inv, s, strlen(s));
        free(s);
        return;
    }
    if (inv->lambda) { /* not the function's doing: Lambda's error shape */
        const char *type = status == 503 ? "ServiceException" : error_type;
        json_t *h = json_pack("{s:s}", "x-amzn-ErrorType", type);
        json_t *e = json_pack("{s:s, s:s}", "Type", status >= 500 ? "Service" : "User", "Message", message);
        char *s = json_dumps(e, JSON_COMPACT);
        json_decref(e);
        finish(inv, status, h, s, strlen(s), "application/json");
        json_decref(h);
        free(s);
        return;
    }
    char *body = error_body(error_type, message, stack, inv->id);
    json_t *none = json_object();
    finish(inv, status, none, body, strlen(body), "application/json");
    json_decref(none);
    free(body);
}

void invocation_respond_function_error(invocation_t *inv, const char *body, size_t len,
                                       const char *type_header)
{
    if (inv->lambda || inv->attempt)
        return lambda_function_error(inv, body, len);
    char *out;
    int status = error_map(body, len, type_header, inv->id, &out);
    json_t *none = json_object();
    finish(inv, status, none, out, strlen(out), "application/json");
    json_decref(none);
    free(out);
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
    account(inv);
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
