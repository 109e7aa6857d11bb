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

/* The last hour by minute and the last minute by second, for the console's
 * chart and list (GET /api/v1/figures, .../figures): a slot holds the
 * minute (second) it counts; one that holds another is empty. Allocated at
 * a function's first call, so functions never called cost nothing. */
enum { FIGURE_MINUTES = 60, FIGURE_SECONDS = 60 };
typedef struct figure_counts {
    uint32_t calls, errors, throttles; /* errors: error, timeout, crash */
} figure_counts_t;
typedef struct minute_figures {
    int64_t minute; /* since the epoch */
    figure_counts_t n;
    uint32_t buckets[DURATION_BUCKETS + 1]; /* durations of the calls that ran */
} minute_figures_t;
typedef struct second_figures {
    int64_t second; /* since the epoch */
    figure_counts_t n;
} second_figures_t;
typedef struct figure_ring {
    minute_figures_t minutes[FIGURE_MINUTES];
    second_figures_t seconds[FIGURE_SECONDS];
} figure_ring_t;

typedef struct fn_metrics {
    uint64_t outcomes[METRIC_OUTCOMES];
    uint64_t buckets[DURATION_BUCKETS + 1]; /* per bucket (not cumulative); the last: above every bound */
    uint64_t count;
    double sum_s;
    uint64_t cold[COLD_PATHS];
    uint64_t init_count;
    double init_sum_s;
    int64_t memory_peak_bytes; /* the most any of its instances used in a call */
    figure_ring_t *ring;       /* NULL until its first call */
    int last_outcome;          /* of its last call: an enum metric_outcome */
    uint64_t last_at_ms;       /* when it ended, wall clock; 0: never called */
    double last_duration_ms;
} fn_metrics_t;

const fn_metrics_t *fn_metrics(const fn_t *fn);
/* Its live instances by state (starting, idle, busy) and the calls waiting
 * in its queues. */
void fn_metrics_instances(const fn_t *fn, int *starting, int *idle, int *busy, int *queued);

/* The ring (fn_metrics(fn)->ring, NULL until the first call): a call that
 * ended at at_ms with outcome k and duration bucket `bucket` counted in it;
 * its figures of minute `minute` (since the epoch) added into *out (its
 * minute field untouched); of the 60 seconds up to now_ms into *last. */
void figure_ring_count(figure_ring_t *r, enum metric_outcome k, int bucket, uint64_t at_ms);
void figure_ring_minute(const figure_ring_t *r, int64_t minute, minute_figures_t *out);
void figure_ring_last_minute(const figure_ring_t *r, uint64_t now_ms, figure_counts_t *last);
/* The q-quantile (0 < q < 1) of the durations counted in buckets, in ms,
 * interpolated within its bucket as Prometheus's histogram_quantile does
 * (the top bound for the open bucket); -1 when nothing was counted. */
double figures_quantile(const uint32_t buckets[DURATION_BUCKETS + 1], double q);
