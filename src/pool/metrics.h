#pragma once
/* What each function's calls came to, counted as they end (metrics.c), for
 * GET /metrics (server/metrics.c). Plain counters on the loop thread: the
 * cost is a few adds per call. A build with -DIMPULS_NO_METRICS counts
 * nothing (the bench's reference for that cost). */
#include <stdbool.h>
#include <stdint.h>

#include "pool/pool.h"

/* How a call ended. */
enum metric_outcome { METRIC_OK, METRIC_ERROR, METRIC_TIMEOUT, METRIC_CRASH, METRIC_THROTTLED, METRIC_OUTCOMES };
/* How the instance that took a function's first call of it started. */
enum cold_path { COLD_PREMADE, COLD_ZYGOTE, COLD_ORDINARY, COLD_MICROVM_BOOT, COLD_MICROVM_RESTORE, COLD_PATHS };

/* One bucket set for every function's durations, in seconds (+Inf aside). */
enum { DURATION_BUCKETS = 17 };
extern const double METRIC_DURATION_BUCKETS[DURATION_BUCKETS];
extern const char *const METRIC_OUTCOME_NAMES[METRIC_OUTCOMES];
extern const char *const METRIC_COLD_NAMES[COLD_PATHS];

typedef struct fn_metrics {
    uint64_t outcomes[METRIC_OUTCOMES];
    uint64_t buckets[DURATION_BUCKETS + 1]; /* per bucket (not cumulative); the last: above every bound */
    uint64_t count;
    double sum_s;
    uint64_t cold[COLD_PATHS];
    uint64_t init_count;
    double init_sum_s;
    int64_t memory_peak_bytes; /* the most any of its instances used in a call */
} fn_metrics_t;

const fn_metrics_t *fn_metrics(const fn_t *fn);
/* Its live instances by state (starting, idle, busy) and the calls waiting
 * in its queues. */
void fn_metrics_instances(const fn_t *fn, int *starting, int *idle, int *busy, int *queued);
