/* GET /metrics: Prometheus's text exposition format, version 0.0.4. Per
 * function (and published version): calls by outcome, a duration histogram
 * with one bucket set for all, cold starts by start path, init durations,
 * instances by state, queued calls, Event invocations kept, memory peak;
 * for the daemon: connections, instances, pre-made sandboxes, kept events,
 * builds; and the process figures every Prometheus user expects. Series
 * exist for live functions only: a deleted function's go with it.
 * docs/operations.md, "Metrics". */
#include <dirent.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/source_build.h"
#include "http/conn_limit.h"
#include "http/http_util.h"
#include "pool/metrics.h"
#include "pool/pool.h"
#include "server/server.h"
#include "store/events.h"
#include "util/util.h"

static double start_time_s;

void metrics_mark_start(void) { start_time_s = (double)now_ms() / 1000; }

/* A label value as the format wants it: backslash, double quote and line
 * feed escaped. */
static void label(struct evbuffer *out, const char *v)
{
    for (const char *p = v; *p; p++) {
        if (*p == '\\')
            evbuffer_add(out, "\\\\", 2);
        else if (*p == '"')
            evbuffer_add(out, "\\\"", 2);
        else if (*p == '\n')
            evbuffer_add(out, "\\n", 2);
        else
            evbuffer_add(out, p, 1);
    }
}

static void family(struct evbuffer *out, const char *name, const char *type, const char *help)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{function="f",version="v"[,extra]} value */
static void fn_sample(struct evbuffer *out, const char *name, const fn_t *fn, const char *extra_key,
                      const char *extra_value, double value)
{
    char version[16] = "$LATEST";
    if (fn_published(fn))
        snprintf(version, sizeof version, "%d", fn_published(fn));
    evbuffer_add_printf(out, "%s{function=\"", name);
    label(out, fn_cfg(fn)->name);
    evbuffer_add_printf(out, "\",version=\"%s\"", version);
    if (extra_key) {
        evbuffer_add_printf(out, ",%s=\"", extra_key);
        label(out, extra_value);
        evbuffer_add(out, "\"", 1);
    }
    evbuffer_add_printf(out, "} %.17g\n", value);
}

/* Every live function and its published versions, in one array (grown as
 * needed: a function left out would be a series that silently stops). */
typedef struct fn_list {
    const fn_t **fn;
    int n, cap;
    bool short_of_memory;
} fn_list_t;

static void add_one(fn_t *fn, void *arg)
{
    fn_list_t *l = arg;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        const fn_t **more = realloc(l->fn, (size_t)cap * sizeof *more);
        if (!more) {
            l->short_of_memory = true;
            return;
        }
        l->fn = more;
        l->cap = cap;
    }
    l->fn[l->n++] = fn;
}

static void add_with_versions(fn_t *fn, void *arg)
{
    add_one(fn, arg);
    registry_versions_each(fn_cfg(fn)->name, add_one, arg);
}

static void per_function(struct evbuffer *out, const fn_list_t *l)
{
    family(out, "impuls_invocations_total", "counter", "Calls of a function that ended, by outcome.");
    for (int i = 0; i < l->n; i++)
        for (int k = 0; k < METRIC_OUTCOMES; k++)
            fn_sample(out, "impuls_invocations_total", l->fn[i], "outcome", METRIC_OUTCOME_NAMES[k],
                      (double)fn_metrics(l->fn[i])->outcomes[k]);
    family(out, "impuls_invocation_duration_seconds", "histogram",
           "How long calls ran, from the runtime taking the event to its answer.");
    for (int i = 0; i < l->n; i++) {
        const fn_metrics_t *m = fn_metrics(l->fn[i]);
        uint64_t below = 0;
        for (int b = 0; b <= DURATION_BUCKETS; b++) {
            below += m->buckets[b];
            char le[24];
            if (b < DURATION_BUCKETS)
                snprintf(le, sizeof le, "%g", METRIC_DURATION_BUCKETS[b]);
            else
                snprintf(le, sizeof le, "+Inf");
            fn_sample(out, "impuls_invocation_duration_seconds_bucket", l->fn[i], "le", le, (double)below);
        }
        fn_sample(out, "impuls_invocation_duration_seconds_sum", l->fn[i], NULL, NULL, m->sum_s);
        fn_sample(out, "impuls_invocation_duration_seconds_count", l->fn[i], NULL, NULL, (double)m->count);
    }
    family(out, "impuls_cold_starts_total", "counter", "Instances that took their first call, by how they started.");
    for (int i = 0; i < l->n; i++)
        for (int p = 0; p < COLD_PATHS; p++)
            fn_sample(out, "impuls_cold_starts_total", l->fn[i], "path", METRIC_COLD_NAMES[p],
                      (double)fn_metrics(l->fn[i])->cold[p]);
    family(out, "impuls_init_duration_seconds", "summary", "Init of instances, from their start to their first /next.");
    for (int i = 0; i < l->n; i++) {
        fn_sample(out, "impuls_init_duration_seconds_sum", l->fn[i], NULL, NULL, fn_metrics(l->fn[i])->init_sum_s);
        fn_sample(out, "impuls_init_duration_seconds_count", l->fn[i], NULL, NULL,
                  (double)fn_metrics(l->fn[i])->init_count);
    }
    family(out, "impuls_instances", "gauge", "Live instances of a function, by state.");
    for (int i = 0; i < l->n; i++) {
        int starting, idle, busy, queued;
        fn_metrics_instances(l->fn[i], &starting, &idle, &busy, &queued);
        fn_sample(out, "impuls_instances", l->fn[i], "state", "starting", starting);
        fn_sample(out, "impuls_instances", l->fn[i], "state", "idle", idle);
        fn_sample(out, "impuls_instances", l->fn[i], "state", "busy", busy);
    }
    family(out, "impuls_queued_calls", "gauge", "Calls waiting in a function's queue for an instance.");
    for (int i = 0; i < l->n; i++) {
        int starting, idle, busy, queued;
        fn_metrics_instances(l->fn[i], &starting, &idle, &busy, &queued);
        fn_sample(out, "impuls_queued_calls", l->fn[i], NULL, NULL, queued);
    }
    family(out, "impuls_memory_peak_bytes", "gauge", "The most memory an instance of a function used in a call.");
    for (int i = 0; i < l->n; i++)
        fn_sample(out, "impuls_memory_peak_bytes", l->fn[i], NULL, NULL, (double)fn_metrics(l->fn[i])->memory_peak_bytes);
    family(out, "impuls_events_queued", "gauge", "Event invocations of a function kept and not done.");
    for (int i = 0; i < l->n; i++) {
        if (fn_published(l->fn[i]))
            continue; /* (kept by function: counted under $LATEST) */
        int count = 0;
        uint64_t oldest = 0;
        store_events_of(D->store, fn_cfg(l->fn[i])->name, &count, &oldest);
        fn_sample(out, "impuls_events_queued", l->fn[i], NULL, NULL, count);
    }
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = -1; /* (the dir's own fd) */
    while (readdir(d))
        n++;
    closedir(d);
    return n - 2; /* . and .. */
}

static double resident_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

static void daemon_wide(struct evbuffer *out)
{
    family(out, "impuls_connections", "gauge", "Client connections open on the API listener.");
    evbuffer_add_printf(out, "impuls_connections %d\n", conn_limit_open(api_conns));
    family(out, "impuls_pool_instances", "gauge", "Live instances of every function (--max-instances bounds them).");
    evbuffer_add_printf(out, "impuls_pool_instances %d\n", D->n_instances);
    family(out, "impuls_premade_sandboxes_ready", "gauge", "Pre-made sandboxes ready to be claimed, by language.");
    static const char *const LANGS[] = {"nodejs", "python", "csharp"};
    for (size_t i = 0; i < sizeof LANGS / sizeof *LANGS; i++)
        evbuffer_add_printf(out, "impuls_premade_sandboxes_ready{language=\"%s\"} %d\n", LANGS[i],
                            shells_ready(LANGS[i]));
    family(out, "impuls_async_events_queued", "gauge", "Event invocations kept and not done, of every function.");
    evbuffer_add_printf(out, "impuls_async_events_queued %d\n", store_events_count(D->store));
    uint64_t built, refused, failed;
    int running;
    source_build_counts(&built, &refused, &failed, &running);
    family(out, "impuls_builds_total", "counter", "Source builds that ended, by result.");
    evbuffer_add_printf(out, "impuls_builds_total{result=\"built\"} %llu\nimpuls_builds_total{result=\"refused\"} %llu\n"
                             "impuls_builds_total{result=\"failed\"} %llu\n",
                        (unsigned long long)built, (unsigned long long)refused, (unsigned long long)failed);
    family(out, "impuls_builds_running", "gauge", "Source builds running now.");
    evbuffer_add_printf(out, "impuls_builds_running %d\n", running);
    family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    evbuffer_add_printf(out, "process_resident_memory_bytes %.17g\n", resident_bytes());
    family(out, "process_open_fds", "gauge", "Number of open file descriptors.");
    evbuffer_add_printf(out, "process_open_fds %ld\n", open_fds());
    family(out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
    evbuffer_add_printf(out, "process_start_time_seconds %.3f\n", start_time_s);
}

void api_metrics(struct evhttp_request *req)
{
    fn_list_t list = {0};
    registry_each(add_with_versions, &list);
    struct evbuffer *out = list.short_of_memory ? NULL : evbuffer_new();
    if (!out) {
        free(list.fn);
        return http_error(req, 500, "ServiceException", "out of memory");
    }
    per_function(out, &list);
    free(list.fn);
    daemon_wide(out);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    http_reply(req, 200, "OK", out);
    evbuffer_free(out);
}
