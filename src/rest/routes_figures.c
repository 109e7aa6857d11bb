/* The daemon's own recent figures, for the web console (docs/api.md,
 * "Figures"): GET /api/v1/figures, every function's instances, last call
 * and last 60 seconds; GET /api/v1/functions/{name}/figures, its last hour
 * by minute with p50 and p99. A function's published versions count with
 * it. Held in memory (pool/metrics.h): a restart starts them again. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "http/http_util.h"
#include "pool/metrics.h"
#include "pool/pool.h"
#include "rest/rest.h"
#include "util/util.h"

/* A function and its versions, summed as the walk over them goes. */
typedef struct fn_sum {
    int starting, idle, busy, queued;
    figure_counts_t last_minute;
    const fn_metrics_t *last; /* the one whose call ended last, or NULL */
    uint64_t now_ms;
    int64_t first_minute;
    minute_figures_t minutes[FIGURE_MINUTES]; /* with_minutes only */
    bool with_minutes;
} fn_sum_t;

static void add_fn(fn_t *fn, void *arg)
{
    fn_sum_t *s = arg;
    int starting, idle, busy, queued;
    fn_metrics_instances(fn, &starting, &idle, &busy, &queued);
    s->starting += starting, s->idle += idle, s->busy += busy, s->queued += queued;
    const fn_metrics_t *m = fn_metrics(fn);
    figure_ring_last_minute(m->ring, s->now_ms, &s->last_minute);
    if (m->last_at_ms && (!s->last || m->last_at_ms > s->last->last_at_ms))
        s->last = m;
    for (int i = 0; s->with_minutes && i < FIGURE_MINUTES; i++)
        figure_ring_minute(m->ring, s->first_minute + i, &s->minutes[i]);
}

static void sum_function(fn_t *fn, fn_sum_t *s, bool with_minutes)
{
    memset(s, 0, sizeof *s);
    s->now_ms = now_ms();
    s->with_minutes = with_minutes;
    s->first_minute = (int64_t)(s->now_ms / 60000) - (FIGURE_MINUTES - 1);
    add_fn(fn, s);
    registry_versions_each(fn_cfg(fn)->name, add_fn, s);
}

static json_t *counts_json(const figure_counts_t *n)
{
    return json_pack("{s:I, s:I, s:I}", "invocations", (json_int_t)n->calls, "errors", (json_int_t)n->errors,
                     "throttles", (json_int_t)n->throttles);
}

static json_t *last_call_json(const fn_metrics_t *m)
{
    if (!m)
        return json_null();
    char at[32];
    iso8601(at, m->last_at_ms);
    return json_pack("{s:s, s:s, s:f}", "outcome", METRIC_OUTCOME_NAMES[m->last_outcome], "at", at, "durationMs",
                     m->last_duration_ms);
}

static json_t *ms_or_null(double ms) { return ms < 0 ? json_null() : json_real(ms); }

static json_t *summary_json(fn_t *fn, const fn_sum_t *s)
{
    return json_pack("{s:s, s:{s:i, s:i, s:i}, s:i, s:o, s:o}", "name", fn_cfg(fn)->name, "instances", "starting",
                     s->starting, "idle", s->idle, "busy", s->busy, "queued", s->queued, "lastCall",
                     last_call_json(s->last), "lastMinute", counts_json(&s->last_minute));
}

static void collect(fn_t *fn, void *arg)
{
    fn_t ***at = arg;
    *(*at)++ = fn;
}

static void count(fn_t *fn, void *arg) { ++*(size_t *)arg; }

static int by_name(const void *a, const void *b)
{
    return strcmp(fn_cfg(*(fn_t *const *)a)->name, fn_cfg(*(fn_t *const *)b)->name);
}

void api_figures(struct evhttp_request *req)
{
    size_t n = 0;
    registry_each(count, &n);
    fn_t **all = malloc((n ? n : 1) * sizeof *all), **end = all;
    if (!all)
        return http_error(req, 500, "ServiceException", "out of memory");
    registry_each(collect, &end);
    qsort(all, n, sizeof *all, by_name);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        fn_sum_t s;
        sum_function(all[i], &s, false);
        json_array_append_new(list, summary_json(all[i], &s));
    }
    free(all);
    http_json(req, 200, json_pack("{s:o}", "functions", list));
}

void api_function_figures(struct evhttp_request *req, const char *name)
{
    fn_t *fn = registry_find(name);
    if (!fn)
        return api_not_found(req, name);
    fn_sum_t *s = malloc(sizeof *s);
    if (!s)
        return http_error(req, 500, "ServiceException", "out of memory");
    sum_function(fn, s, true);
    json_t *minutes = json_array();
    for (int i = 0; i < FIGURE_MINUTES; i++) {
        char start[32];
        iso8601(start, (uint64_t)(s->first_minute + i) * 60000);
        memcpy(start + 16, ":00Z", 5); /* 2026-12-06T03:02:00Z: a minute has no fraction */
        json_t *m = json_pack("{s:s}", "start", start);
        json_object_update_new(m, counts_json(&s->minutes[i].n));
        json_object_set_new(m, "p50Ms", ms_or_null(figures_quantile(s->minutes[i].buckets, 0.5)));
        json_object_set_new(m, "p99Ms", ms_or_null(figures_quantile(s->minutes[i].buckets, 0.99)));
        json_array_append_new(minutes, m);
    }
    json_t *out = summary_json(fn, s);
    json_object_set_new(out, "minutes", minutes);
    free(s);
    http_json(req, 200, out);
}
