/* Event invocations: kept in the store from before the 202 until they
 * succeed or finally fail; the pool's outcome decides whether the call is
 * tried again, and nothing is answered (see the header). How many times and
 * for how long: the function's event invoke config (store/event_config.h),
 * read as each attempt ends; its end goes to a destination or the dead
 * letters (async_record.c). */
#include "events/async_invoke.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/async_record.h"
#include "events/scheduler.h"
#include "api/qualifier.h"
#include "pool/daemon.h"
#include "pool/pool.h"
#include "store/event_config.h"
#include "store/events.h"
#include "util/log.h"
#include "util/util.h"

enum { THROTTLE_BACKOFF_MAX_S = 30 };

/* One event: its attempt running, or waiting for its retry timer. */
typedef struct attempt {
    fn_t *fn;               /* held (fn_ref) */
    char id[37];            /* its request id, every attempt's, and its row in the store */
    struct evbuffer *event; /* a copy of the event, for the next attempt */
    int n;                  /* attempts made, the running one included: 1, 2, 3 */
    int hops;               /* destinations it came through (store/events.h) */
    uint64_t accepted_at;   /* ms since the epoch */
    int throttles;          /* 429s in a row: the backoff before the next try */
    bool throttled;         /* the timer retries a throttled attempt (not counted) */
    struct event *timer;    /* while waiting */
    struct attempt *next;   /* among the waiting */
} attempt_t;

static attempt_t *waiting;

/* A function's events in the pool at once, and the rest in order: fed at
 * the function's pace rather than thrown at its queue, whose limit would
 * answer most of a burst with throttles. */
typedef struct fn_events {
    fn_t *fn; /* not held: the record goes when the function's last event does */
    int running;
    bool pumping;           /* pump() is on the stack: the record stays */
    attempt_t *head, *tail; /* waiting their turn (linked by next) */
    struct fn_events *next;
} fn_events_t;
static fn_events_t *per_fn;

static fn_events_t *events_of(fn_t *fn)
{
    for (fn_events_t *e = per_fn; e; e = e->next)
        if (e->fn == fn)
            return e;
    fn_events_t *e = calloc(1, sizeof *e);
    if (e) {
        e->fn = fn;
        e->next = per_fn;
        per_fn = e;
    }
    return e;
}

static void events_forget(fn_events_t *e)
{
    for (fn_events_t **p = &per_fn; *p; p = &(*p)->next)
        if (*p == e) {
            *p = e->next;
            free(e);
            return;
        }
}

/* The pool's queue for a function holds queue_max calls: events take half. */
static int events_cap(void) { return D->cfg.queue_max / 2 > 0 ? D->cfg.queue_max / 2 : 1; }

static void unlink_waiting(attempt_t *a)
{
    for (attempt_t **p = &waiting; *p; p = &(*p)->next)
        if (*p == a) {
            *p = a->next;
            break;
        }
}

static void attempt_free(attempt_t *a)
{
    unlink_waiting(a);
    if (a->timer)
        event_free(a->timer);
    if (a->event)
        evbuffer_free(a->event);
    fn_unref(a->fn);
    free(a);
}

/* Done with for good: its row goes (a failure to remove it means one more
 * run after a restart, which at-least-once allows). Its log lines are
 * written first (they are gathered for the loop turn's end: pool.h), so
 * that a crash never leaves an event gone with no sign that it ran. */
static void finish(attempt_t *a)
{
    fn_logs_flush();
    store_event_remove(D->store, a->id);
    attempt_free(a);
}

static void start(attempt_t *a);

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    attempt_t *a = arg;
    unlink_waiting(a);
    event_free(a->timer);
    a->timer = NULL;
    if (fn_removed(a->fn))
        return finish(a);
    if (D->draining)
        return attempt_free(a); /* kept in the store: the next start runs it */
    if (!a->throttled)
        a->n++;
    start(a);
}

static void wait_for_retry(attempt_t *a, int seconds)
{
    a->timer = evtimer_new(D->base, on_retry, a);
    if (!a->timer)
        return attempt_free(a); /* kept: the next start runs it */
    struct timeval tv = {.tv_sec = seconds};
    evtimer_add(a->timer, &tv);
    a->next = waiting;
    waiting = a;
}

static void log_line(fn_t *fn, const char *fmt, const char *id, int status, int n, int next_in)
{
    char line[256];
    int k = snprintf(line, sizeof line, fmt, id, status, n, next_in);
    fn_log_write(fn, line, (size_t)(k < (int)sizeof line ? k : (int)sizeof line - 1));
}

static void handle_outcome(attempt_t *a, const invoke_outcome_t *o);
static bool invoke(attempt_t *a);

/* Starts the next events of a function while it has room. An invocation
 * may end before pool_invoke_as returns (a full queue): its on_done runs
 * inside this loop, and the loop goes on. */
static void pump(fn_events_t *e)
{
    if (e->pumping)
        return;
    e->pumping = true;
    while (e->head && e->running < events_cap()) {
        attempt_t *next = e->head;
        e->head = next->next;
        if (!e->head)
            e->tail = NULL;
        next->next = NULL;
        e->running++;
        if (!invoke(next))
            e->running--;
    }
    e->pumping = false;
    if (!e->running && !e->head)
        events_forget(e);
}

static void on_done(const invoke_outcome_t *o, void *arg)
{
    attempt_t *a = arg;
    fn_events_t *e = events_of(a->fn);
    handle_outcome(a, o); /* may free a, and the function with it: not e, which is not the function's */
    if (e) {
        e->running--;
        pump(e);
    }
}

static void handle_outcome(attempt_t *a, const invoke_outcome_t *o)
{
    /* What Lambda tries again: the function's errors, the runtime's
     * (crash, timeout: 5xx) and throttles (429); not a refusal (4xx). */
    bool failed = o->kind == OUTCOME_FUNCTION_ERROR || (o->kind == OUTCOME_ERROR && (o->status >= 500 || o->status == 429));
    int status = async_invoke_status(o);
    if (fn_removed(a->fn))
        return finish(a); /* its destinations and dead letters went with it */
    event_config_t cfg;
    store_event_config_get(D->store, fn_cfg(a->fn)->name, &cfg); /* (on an error: the defaults) */
    async_end_t end = {.fn = a->fn, .id = a->id, .event = a->event, .attempts = a->n, .hops = a->hops,
                       .accepted_at = a->accepted_at, .outcome = o};
    if (!failed) {
        async_end(&end, &cfg, ASYNC_SUCCESS);
        return finish(a);
    }
    /* (a wall clock: it may have stepped back since; the test clock's, so
     * that a test can age an event without waiting) */
    uint64_t now = scheduler_now_ms();
    bool too_old = now > a->accepted_at && now - a->accepted_at >= (uint64_t)event_config_age_s(&cfg) * 1000;
    /* A throttle (the function's queue full) is not an attempt: the event
     * waits, backing off, for as long as an event may wait. */
    a->throttled = o->kind == OUTCOME_ERROR && o->status == 429 && !too_old;
    if (a->throttled) {
        if (D->draining)
            return attempt_free(a);
        int backoff = a->throttles < 5 ? 1 << a->throttles : THROTTLE_BACKOFF_MAX_S;
        a->throttles++;
        return wait_for_retry(a, backoff < THROTTLE_BACKOFF_MAX_S ? backoff : THROTTLE_BACKOFF_MAX_S);
    }
    a->throttles = 0;
    if (too_old || a->n > event_config_retries(&cfg)) { /* (async_end says so in the log) */
        if (!async_end(&end, &cfg, too_old ? ASYNC_TOO_OLD : ASYNC_RETRIES_SPENT))
            return attempt_free(a); /* its end is nowhere: the event stays kept, for the next start */
        return finish(a);
    }
    if (D->draining)
        return attempt_free(a); /* kept: the next start tries it again */
    store_event_attempted(D->store, a->id, a->n);
    log_line(a->fn, "[impuls] async invocation %s failed (HTTP %d); attempt %d in %d s\n", a->id, status, a->n + 1,
             a->n);
    wait_for_retry(a, a->n); /* 1 s, then 2 s */
}

/* Invokes with a copy of the event (the pool takes it over), keeping the
 * original for a retry; or queues it behind the function's running events. */
static void start(attempt_t *a)
{
    fn_events_t *e = events_of(a->fn);
    if (e && e->running >= events_cap()) { /* its turn comes as one of the running ends */
        if (e->tail)
            e->tail->next = a;
        else
            e->head = a;
        e->tail = a;
        return;
    }
    if (e)
        e->running++;
    if (!invoke(a) && e) {
        e->running--;
        pump(e);
    }
}

/* false when it could not start (a is freed; its event stays kept). */
static bool invoke(attempt_t *a)
{
    struct evbuffer *copy = evbuffer_new();
    size_t len = evbuffer_get_length(a->event);
    if (!copy || evbuffer_add(copy, len ? evbuffer_pullup(a->event, -1) : (unsigned char *)"", len) < 0) {
        if (copy)
            evbuffer_free(copy);
        attempt_free(a);
        return false;
    }
    pool_invoke_as(a->fn, copy, a->id, on_done, a);
    return true;
}

static attempt_t *attempt_new(fn_t *fn, const char *id, struct evbuffer *event, int made, int hops,
                              uint64_t accepted_at)
{
    attempt_t *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->fn = fn;
    fn_ref(fn);
    snprintf(a->id, sizeof a->id, "%s", id);
    a->event = event;
    a->n = made + 1;
    a->hops = hops;
    a->accepted_at = accepted_at;
    return a;
}

int api_invoke_async_hop(fn_t *fn, struct evbuffer *event, char id[37], int hops)
{
    uuid4(id);
    size_t len = evbuffer_get_length(event);
    store_event_t kept = {.id = id, .function = fn_cfg(fn)->name, .event = len ? evbuffer_pullup(event, -1) : NULL,
                          .len = len, .hops = hops, .version = fn_published(fn), .accepted_at = now_ms()};
    if (store_event_add(D->store, &kept) != STORE_OK) {
        evbuffer_free(event);
        return -1;
    }
    api_async_run_kept(fn, event, id, hops, kept.accepted_at);
    return 0;
}

void api_async_run_kept(fn_t *fn, struct evbuffer *event, const char *id, int hops, uint64_t accepted_at)
{
    attempt_t *a = attempt_new(fn, id, event, 0, hops, accepted_at);
    if (!a) {
        evbuffer_free(event);
        return; /* kept: the next start runs it */
    }
    start(a);
}

int api_invoke_async(fn_t *fn, struct evbuffer *event, char id[37]) { return api_invoke_async_hop(fn, event, id, 0); }

static void resume_one(const store_event_t *e, void *arg)
{
    int *n = arg;
    resolved_t r;
    fn_t *fn = registry_find(e->function);
    if (fn && e->version)
        fn = qualifier_version(e->function, e->version, &r); /* NULL: the version was deleted meanwhile */
    struct evbuffer *copy = fn ? evbuffer_new() : NULL;
    if (!fn || !copy || evbuffer_add(copy, e->event, e->len) < 0) {
        if (copy)
            evbuffer_free(copy);
        if (!fn) /* the function was deleted meanwhile, or is not loaded */
            store_event_remove(D->store, e->id);
        return;
    }
    /* An attempt cut short by the daemon's end is made again, not counted
     * (and at least one more is made, whatever the retries are now). */
    event_config_t cfg;
    store_event_config_get(D->store, e->function, &cfg);
    int made = e->attempts < event_config_retries(&cfg) ? e->attempts : event_config_retries(&cfg);
    attempt_t *a = attempt_new(fn, e->id, copy, made, e->hops, e->accepted_at);
    if (!a) {
        evbuffer_free(copy);
        return;
    }
    (*n)++;
    start(a);
}

void api_async_resume(void)
{
    int n = 0;
    if (store_events_load(D->store, resume_one, &n) != STORE_OK)
        log_error("cannot resume the accepted Event invocations: %s", store_last_error(D->store));
    else if (n)
        log_info("resuming %d accepted Event invocation(s)", n);
}

void api_drop_retries(void)
{
    while (waiting)
        attempt_free(waiting);
    while (per_fn) {
        fn_events_t *e = per_fn;
        per_fn = e->next;
        while (e->head) {
            attempt_t *a = e->head;
            e->head = a->next;
            a->next = NULL;
            attempt_free(a);
        }
        free(e);
    }
}
