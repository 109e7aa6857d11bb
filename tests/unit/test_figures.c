/* The console's figures (pool/metrics.c): the ring of the last hour by
 * minute and the last minute by second, where a slot left from an older
 * minute or second never counts; and the quantiles of a duration histogram,
 * interpolated within the bucket the rank falls in as Prometheus's
 * histogram_quantile does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pool/metrics.h"

static void nothing_counted_is_no_quantile(void **state)
{
    uint32_t b[DURATION_BUCKETS + 1] = {0};
    assert_true(figures_quantile(b, 0.5) == -1);
}

static void the_rank_is_interpolated_within_its_bucket(void **state)
{
    uint32_t b[DURATION_BUCKETS + 1] = {0};
    b[1] = 4; /* four calls of 1 to 2.5 ms */
    assert_float_equal(figures_quantile(b, 0.5), 1 + 1.5 * 2 / 4, 1e-9);  /* rank 2 of 4: halfway */
    assert_float_equal(figures_quantile(b, 0.99), 1 + 1.5 * 3.96 / 4, 1e-9);
    b[0] = 4; /* and four of up to 1 ms: the median is the first bucket's top */
    assert_float_equal(figures_quantile(b, 0.5), 1.0, 1e-9);
    assert_float_equal(figures_quantile(b, 0.25), 0.5, 1e-9);
}

static void the_open_bucket_answers_the_top_bound(void **state)
{
    uint32_t b[DURATION_BUCKETS + 1] = {0};
    b[DURATION_BUCKETS] = 1; /* above 900 s */
    assert_float_equal(figures_quantile(b, 0.99), 900000.0, 1e-9);
    b[3] = 99; /* 5 to 10 ms: the p99 rank (99 of 100) is inside it */
    assert_float_equal(figures_quantile(b, 0.99), 10.0, 1e-9);
}

enum { T0 = 1764990000 }; /* a whole minute, in seconds since the epoch */
static const uint64_t MS = 1000;

static void calls_count_in_their_minute_and_the_last_sixty_seconds(void **state)
{
    static figure_ring_t r;
    figure_ring_count(&r, METRIC_OK, 1, T0 * MS + 500);
    figure_ring_count(&r, METRIC_ERROR, 2, (T0 + 30) * MS);
    figure_ring_count(&r, METRIC_THROTTLED, 0, (T0 + 59) * MS);
    figure_ring_count(&r, METRIC_TIMEOUT, 3, (T0 + 61) * MS);
    minute_figures_t m = {0};
    figure_ring_minute(&r, T0 / 60, &m);
    assert_int_equal(m.n.calls, 3);
    assert_int_equal(m.n.errors, 1);
    assert_int_equal(m.n.throttles, 1);
    assert_int_equal(m.buckets[1] + m.buckets[2] + m.buckets[0], 2); /* (the throttled call ran for no time) */
    figure_counts_t last = {0};
    figure_ring_last_minute(&r, (T0 + 61) * MS, &last); /* seconds T0+2 .. T0+61 */
    assert_int_equal(last.calls, 3);
    assert_int_equal(last.errors, 2);
    assert_int_equal(last.throttles, 1);
    last = (figure_counts_t){0};
    figure_ring_last_minute(&r, (T0 + 200) * MS, &last); /* all of them too old */
    assert_int_equal(last.calls, 0);
}

static void a_slot_of_an_older_minute_or_second_starts_again(void **state)
{
    static figure_ring_t r;
    figure_ring_count(&r, METRIC_OK, 0, T0 * MS);
    figure_ring_count(&r, METRIC_OK, 0, (T0 + 3600) * MS); /* the same slots, an hour on */
    minute_figures_t m = {0};
    figure_ring_minute(&r, T0 / 60, &m); /* the old minute is gone, not added in */
    assert_int_equal(m.n.calls, 0);
    figure_ring_minute(&r, T0 / 60 + 60, &m);
    assert_int_equal(m.n.calls, 1);
    assert_int_equal(m.buckets[0], 1);
    figure_counts_t last = {0};
    figure_ring_last_minute(&r, (T0 + 3600) * MS, &last);
    assert_int_equal(last.calls, 1);
    /* A minute asked before the ring had any, or before the epoch: nothing. */
    minute_figures_t none = {0};
    figure_ring_minute(&r, -5, &none);
    figure_ring_minute(NULL, T0 / 60, &none);
    assert_int_equal(none.n.calls, 0);
    last = (figure_counts_t){0};
    figure_ring_last_minute(NULL, T0 * MS, &last);
    figure_ring_last_minute(&r, (T0 - 10) * MS, &last); /* (slots in the future of now: not counted) */
    assert_int_equal(last.calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(calls_count_in_their_minute_and_the_last_sixty_seconds),
        cmocka_unit_test(a_slot_of_an_older_minute_or_second_starts_again),
        cmocka_unit_test(nothing_counted_is_no_quantile),
        cmocka_unit_test(the_rank_is_interpolated_within_its_bucket),
        cmocka_unit_test(the_open_bucket_answers_the_top_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
