/* Per-function figures (metrics.h), counted by the pool as calls end. */
#include "pool/metrics.h"

#include "pool/internal.h"

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
