/* The scheduler (scheduler.h): one timer, armed for the soonest schedule
 * due. Each look reads the schedules from the store (a firing changes its
 * row, and a daemon has few): the ones due fire, each once however many of
 * its times passed, and the timer is armed again, for a minute at most so
 * that a wall clock that stepped is noticed. */
#include "events/scheduler.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events/async_invoke.h"
#include "pool/daemon.h"
#include "pool/pool.h"
#include "store/schedules.h"
#include "util/lambda_arn.h"
#include "util/log.h"
#include "util/schedule_expr.h"
#include "util/util.h"

enum {
    LOOK_AGAIN_MS = 60 * 1000,   /* the longest the timer waits */
    RETRY_MS = 1000,             /* after a firing could not be kept */
    LATE_MS = 60 * 1000,         /* a firing this late (the clock stepped) is a catch-up, logged */
    COUNT_MISSED_MAX = 1000,     /* a cron's missed times counted at most (each a step of the loop thread) */
};

static struct event *timer;
static bool starting; /* the first look, at start: what is due was missed while no daemon ran */

uint64_t scheduler_now_ms(void) { return (uint64_t)((int64_t)now_ms() + D->cfg.clock_offset_ms); }

/* The schedules due at `now`, copied out of the store's scan (a firing
 * writes, which must not happen inside the scan's read). */
typedef struct scan {
    uint64_t now, soonest; /* soonest: of the rest; 0 none */
    schedule_t *due;
    size_t n, cap;
} scan_t;

static void collect(const schedule_t *sc, void *arg)
{
    scan_t *s = arg;
    if (!sc->enabled || !sc->next_at)
        return;
    if (sc->next_at > s->now) {
        if (!s->soonest || sc->next_at < s->soonest)
            s->soonest = sc->next_at;
        return;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        schedule_t *more = realloc(s->due, cap * sizeof *more);
        if (!more)
            return; /* fired on the next look */
        s->due = more;
        s->cap = cap;
    }
    s->due[s->n] = *sc;
    s->due[s->n].input = sc->input ? strdup(sc->input) : NULL;
    s->n++;
}

/* EventBridge's scheduled event; time: the firing's, not the call's. */
static char *scheduled_event(const schedule_t *sc, uint64_t fired_at)
{
    char id[37], when[32], rule[LAMBDA_ARN_MAX];
    uuid4(id);
    time_t t = (time_t)(fired_at / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(rule, sizeof rule, "arn:aws:events:" LAMBDA_REGION ":" LAMBDA_ACCOUNT ":rule/impuls-%s-%s", sc->function,
             sc->id);
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:{}}", "version", "0", "id", id,
                           "detail-type", "Scheduled Event", "source", "aws.events", "account", LAMBDA_ACCOUNT, "time",
                           when, "region", LAMBDA_REGION, "resources", rule, "detail");
    char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    return text;
}

/* The last of sc's times at or before now (ms), and how many there were
 * from its next_at on (at most COUNT_MISSED_MAX, then that one is taken). */
static uint64_t last_due(const schedule_t *sc, const sched_expr_t *e, uint64_t now, long *count)
{
    int64_t anchor = (int64_t)(sc->updated_at / 1000), t = (int64_t)(sc->next_at / 1000);
    *count = 1;
    if (e->kind == SCHED_RATE) { /* (evenly spaced: no need to step) */
        int64_t passed = ((int64_t)(now / 1000) - t) / e->period;
        *count += (long)passed;
        return (uint64_t)(t + passed * e->period) * 1000;
    }
    for (;;) {
        int64_t n = sched_expr_next(e, anchor, t);
        if (n < 0 || (uint64_t)n * 1000 > now || *count >= COUNT_MISSED_MAX)
            return (uint64_t)t * 1000;
        t = n;
        ++*count;
    }
}

/* Fires sc once; false when its firing could not be kept (tried again). */
static bool fire(const schedule_t *sc, uint64_t now, uint64_t *next_out)
{
    *next_out = 0;
    fn_t *fn = registry_find(sc->function);
    if (!fn)
        return true; /* going: its schedules go with it */
    sched_expr_t e;
    char err[256];
    if (sched_expr_parse(sc->expression, &e, err, sizeof err) < 0) {
        log_error("schedule %s of %s: %s", sc->id, sc->function, err); /* (checked when it was put) */
        return true;
    }
    long count;
    uint64_t fired_at = last_due(sc, &e, now, &count);
    int64_t next = sched_expr_next(&e, (int64_t)(sc->updated_at / 1000), (int64_t)(now / 1000));
    uint64_t next_at = next < 0 ? 0 : (uint64_t)next * 1000;
    char *payload = sc->input ? strdup(sc->input) : scheduled_event(sc, fired_at);
    struct evbuffer *event = evbuffer_new();
    if (!payload || !event || evbuffer_add(event, payload, strlen(payload)) < 0) {
        free(payload);
        if (event)
            evbuffer_free(event);
        return false;
    }
    char id[37];
    uuid4(id);
    store_event_t kept = {.id = id, .function = sc->function, .event = payload, .len = strlen(payload),
                          .accepted_at = now_ms()};
    int rc = store_schedule_fired(D->store, sc->function, sc->id, fired_at, next_at, &kept);
    free(payload);
    if (rc != STORE_OK) {
        evbuffer_free(event);
        if (rc == STORE_NOT_FOUND)
            return true; /* deleted meanwhile */
        log_error("schedule %s of %s: its firing could not be kept: %s", sc->id, sc->function,
                  store_last_error(D->store));
        return false;
    }
    *next_out = next_at;
    if (starting || count > 1 || now - fired_at > LATE_MS) {
        char line[512], when[32];
        iso8601(when, fired_at);
        int k = snprintf(line, sizeof line,
                         "[impuls] schedule %s: one catch-up run (request %s) for %s, %s%ld time(s) missed while "
                         "no daemon ran\n",
                         sc->id, id, when, e.kind == SCHED_CRON && count >= COUNT_MISSED_MAX ? "at least " : "", count);
        fn_log_write(fn, line, (size_t)(k < (int)sizeof line ? k : (int)sizeof line - 1));
        log_info("schedule %s of %s: one catch-up run for %s (%ld time(s) missed)", sc->id, sc->function, when, count);
    }
    api_async_run_kept(fn, event, id, 0, kept.accepted_at);
    return true;
}

static void on_timer(evutil_socket_t fd, short what, void *arg) { scheduler_kick(); }

void scheduler_kick(void)
{
    if (!timer || D->draining)
        return;
    scan_t s = {.now = scheduler_now_ms()};
    bool failed = store_schedules_each(D->store, NULL, collect, &s) != STORE_OK;
    for (size_t i = 0; i < s.n; i++) {
        uint64_t next;
        if (!fire(&s.due[i], s.now, &next))
            failed = true;
        else if (next && (!s.soonest || next < s.soonest))
            s.soonest = next;
        free(s.due[i].input);
    }
    free(s.due);
    uint64_t wait = s.soonest ? s.soonest - s.now : LOOK_AGAIN_MS; /* (soonest > now) */
    if (wait > LOOK_AGAIN_MS)
        wait = LOOK_AGAIN_MS;
    if (failed && wait > RETRY_MS)
        wait = RETRY_MS;
    struct timeval tv = {.tv_sec = (time_t)(wait / 1000), .tv_usec = (suseconds_t)(wait % 1000) * 1000};
    evtimer_add(timer, &tv);
}

void scheduler_start(void)
{
    timer = evtimer_new(D->base, on_timer, NULL);
    if (!timer) {
        log_error("cannot start the scheduler: no schedule will fire");
        return;
    }
    starting = true;
    scheduler_kick();
    starting = false;
}

void scheduler_stop(void)
{
    if (timer)
        event_free(timer);
    timer = NULL;
}
