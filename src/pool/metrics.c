/* Per-function figures (metrics.h), counted by the pool as calls end. */
#include "pool/metrics.h"

#include <stdlib.h>

#include "pool/internal.h"
#include "util/util.h"

const double METRIC_DURATION_BUCKETS[DURATION_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                          1,     2.5,    5,     10,   30,    60,   300, 900};
const char *const METRIC_OUTCOME_NAMES[METRIC_OUTCOMES] = {"ok", "error", "timeout", "crash", "throttled"};
const char *const METRIC_COLD_NAMES[COLD_PATHS] = {"pre-made", "zygote", "ordinary", "microvm boot",
                                                   "microvm restore"};

const fn_metrics_t *fn_metrics(const fn_t *fn) { return &fn->metrics; }

void fn_metrics_instances(const fn_t *fn, int *starting, int *idle, int *busy, int *queued)
{
    *starting = *idle = *busy = *queued = 0;
    for (int b = 0; b < SANDBOX_BACKENDS; b++) {
        *queued += fn->pools[b].n_queued;
        for (const instance_t *i = fn->pools[b].instances; i; i = i->pool_next) {
            if (i->state == INST_STARTING)
                ++*starting;
            else if (i->state == INST_IDLE)
                ++*idle;
            else if (i->state == INST_BUSY)
                ++*busy;
        }
    }
}

void figure_ring_count(figure_ring_t *r, enum metric_outcome k, int bucket, uint64_t at_ms)
{
    int64_t second = (int64_t)(at_ms / 1000), minute = second / 60;
    minute_figures_t *mf = &r->minutes[minute % FIGURE_MINUTES];
    if (mf->minute != minute) /* (a slot left from an earlier minute starts again) */
        *mf = (minute_figures_t){.minute = minute};
    second_figures_t *sf = &r->seconds[second % FIGURE_SECONDS];
    if (sf->second != second)
        *sf = (second_figures_t){.second = second};
    figure_counts_t *counts[] = {&mf->n, &sf->n};
    for (int i = 0; i < 2; i++) {
        counts[i]->calls++;
        counts[i]->errors += k == METRIC_ERROR || k == METRIC_TIMEOUT || k == METRIC_CRASH;
        counts[i]->throttles += k == METRIC_THROTTLED;
    }
    if (k != METRIC_THROTTLED) /* (a throttled call never ran: its 0 ms would pull the quantiles down) */
        mf->buckets[bucket]++;
}

void metrics_count_call(fn_t *fn, const invoke_outcome_t *o, double duration_ms)
{
#ifndef IMPULS_NO_METRICS
    fn_metrics_t *m = &fn->metrics;
    enum metric_outcome k = METRIC_OK;
    if (o->kind == OUTCOME_FUNCTION_ERROR)
        k = METRIC_ERROR;
    else if (o->kind == OUTCOME_ERROR)
        k = o->status == 429 ? METRIC_THROTTLED : o->status == 504 ? METRIC_TIMEOUT
            : o->status == 502                                      ? METRIC_CRASH
                                                                    : METRIC_ERROR;
    m->outcomes[k]++;
    double s = duration_ms / 1000;
    int b = 0;
    while (b < DURATION_BUCKETS && s > METRIC_DURATION_BUCKETS[b])
        b++;
    m->buckets[b]++;
    m->count++;
    m->sum_s += s;
    m->last_outcome = (int)k;
    m->last_at_ms = now_ms();
    m->last_duration_ms = duration_ms;
    if (m->ring || (m->ring = calloc(1, sizeof *m->ring))) /* (else the chart misses a call; the counters have it) */
        figure_ring_count(m->ring, k, b, m->last_at_ms);
#else
    (void)fn, (void)o, (void)duration_ms;
#endif
}

void metrics_count_start(instance_t *inst, double init_ms, int64_t memory_peak)
{
#ifndef IMPULS_NO_METRICS
    fn_metrics_t *m = &inst->pool->fn->metrics;
    if (memory_peak > m->memory_peak_bytes)
        m->memory_peak_bytes = memory_peak;
    if (init_ms < 0)
        return; /* not its first call */
    enum cold_path p = inst->premade ? COLD_PREMADE : inst->from_zygote ? COLD_ZYGOTE : COLD_ORDINARY;
    if (inst->sb.backend == SANDBOX_MICROVM)
        p = inst->sb.vm_booted ? COLD_MICROVM_BOOT : COLD_MICROVM_RESTORE;
    m->cold[p]++;
    m->init_count++;
    m->init_sum_s += init_ms / 1000;
#else
    (void)inst, (void)init_ms, (void)memory_peak;
#endif
}

static void add_counts(figure_counts_t *to, const figure_counts_t *n)
{
    to->calls += n->calls;
    to->errors += n->errors;
    to->throttles += n->throttles;
}

void figure_ring_minute(const figure_ring_t *r, int64_t minute, minute_figures_t *out)
{
    if (!r || minute < 0 || r->minutes[minute % FIGURE_MINUTES].minute != minute)
        return;
    const minute_figures_t *mf = &r->minutes[minute % FIGURE_MINUTES];
    add_counts(&out->n, &mf->n);
    for (int b = 0; b <= DURATION_BUCKETS; b++)
        out->buckets[b] += mf->buckets[b];
}

void figure_ring_last_minute(const figure_ring_t *r, uint64_t now_ms, figure_counts_t *last)
{
    int64_t now_s = (int64_t)(now_ms / 1000);
    for (int i = 0; r && i < FIGURE_SECONDS; i++)
        if (r->seconds[i].second > now_s - FIGURE_SECONDS && r->seconds[i].second <= now_s)
            add_counts(last, &r->seconds[i].n);
}

double figures_quantile(const uint32_t buckets[DURATION_BUCKETS + 1], double q)
{
    uint64_t total = 0;
    for (int b = 0; b <= DURATION_BUCKETS; b++)
        total += buckets[b];
    if (!total)
        return -1;
    double rank = q * (double)total, below = 0;
    for (int b = 0; b < DURATION_BUCKETS; b++) {
        if (below + buckets[b] >= rank && buckets[b]) {
            double lo = b ? METRIC_DURATION_BUCKETS[b - 1] : 0, hi = METRIC_DURATION_BUCKETS[b];
            return 1000 * (lo + (hi - lo) * (rank - below) / buckets[b]);
        }
        below += buckets[b];
    }
    return 1000 * METRIC_DURATION_BUCKETS[DURATION_BUCKETS - 1];
}
