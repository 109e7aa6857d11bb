/* Event invocations: the pool's outcome decides whether the call is tried
 * again, and nothing is answered (see the header). */
#include "api/async_invoke.h"

#include <stdio.h>
#include <stdlib.h>

#include "pool/daemon.h"

enum { ASYNC_ATTEMPTS = 3 };

/* One attempt, or an attempt waiting for its retry timer. */
typedef struct attempt {
    fn_t *fn; /* held (fn_ref) */
    struct evbuffer *event; /* a copy of the event, for the next attempt */
    int n;                  /* 1, 2, 3 */
    struct event *timer;    /* while waiting */
    struct attempt *next;   /* among the waiting */
} attempt_t;

static attempt_t *waiting;

static void attempt_free(attempt_t *a)
{
    for (attempt_t **p = &waiting; *p; p = &(*p)->next)
        if (*p == a) {
            *p = a->next;
            break;
        }
    if (a->timer)
        event_free(a->timer);
    if (a->event)
        evbuffer_free(a->event);
    fn_unref(a->fn);
    free(a);
}

static void start(attempt_t *a);

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    attempt_t *a = arg;
    for (attempt_t **p = &waiting; *p; p = &(*p)->next)
        if (*p == a) {
            *p = a->next;
            break;
        }
    event_free(a->timer);
    a->timer = NULL;
    if (fn_removed(a->fn) || D->draining)
        return attempt_free(a);
    start(a);
}

static void log_line(fn_t *fn, const char *fmt, const char *id, int status, int n, int next_in)
{
    char line[256];
    int k = snprintf(line, sizeof line, fmt, id, status, n, next_in);
    fn_log_write(fn, line, (size_t)(k < (int)sizeof line ? k : (int)sizeof line - 1));
}

static void on_done(const invoke_outcome_t *o, void *arg)
{
    attempt_t *a = arg;
    /* What Lambda tries again: the function's errors, the runtime's
     * (crash, timeout: 5xx) and throttles (429); not a refusal (4xx). */
    bool failed = o->kind == OUTCOME_FUNCTION_ERROR || (o->kind == OUTCOME_ERROR && (o->status >= 500 || o->status == 429));
    /* The status logged is the Lambda Invoke API's for it: the function's
     * and the runtime's errors are a 200 with X-Amz-Function-Error there. */
    int status = o->kind != OUTCOME_ERROR || o->status == 500 || o->status == 502 || o->status == 504 ? 200 : o->status;
    if (!failed)
        return attempt_free(a);
    if (a->n >= ASYNC_ATTEMPTS || fn_removed(a->fn) || D->draining || !a->event) {
        log_line(a->fn, "[impuls] async invocation %s failed (HTTP %d) after %d attempts; dropped\n", o->request_id,
                 status, a->n, 0);
        return attempt_free(a);
    }
    a->timer = evtimer_new(D->base, on_retry, a);
    if (!a->timer)
        return attempt_free(a);
    struct timeval tv = {.tv_sec = a->n}; /* 1 s, then 2 s */
    evtimer_add(a->timer, &tv);
    a->next = waiting;
    waiting = a;
    log_line(a->fn, "[impuls] async invocation %s failed (HTTP %d); attempt %d in %d s\n", o->request_id, status,
             a->n + 1, a->n);
    a->n++;
}

/* Invokes with a copy of the event (the pool takes it over), keeping the original for a retry. */
static void start(attempt_t *a)
{
    struct evbuffer *copy = evbuffer_new();
    size_t len = evbuffer_get_length(a->event);
    if (!copy || evbuffer_add(copy, len ? evbuffer_pullup(a->event, -1) : (unsigned char *)"", len) < 0) {
        if (copy)
            evbuffer_free(copy);
        return attempt_free(a);
    }
    pool_invoke(a->fn, SANDBOX_NAMESPACE, copy, false, on_done, a);
}

void api_invoke_async(fn_t *fn, struct evbuffer *event)
{
    attempt_t *a = calloc(1, sizeof *a);
    if (!a) {
        evbuffer_free(event);
        return;
    }
    a->fn = fn;
    fn_ref(fn);
    a->event = event;
    a->n = 1;
    start(a);
}

void api_drop_retries(void)
{
    while (waiting)
        attempt_free(waiting);
}
