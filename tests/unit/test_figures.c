/* The console's quantiles from a duration histogram (pool/metrics.c):
 * figures_quantile interpolates within the bucket the rank falls in, as
 * Prometheus's histogram_quantile does. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nothing_counted_is_no_quantile),
        cmocka_unit_test(the_rank_is_interpolated_within_its_bucket),
        cmocka_unit_test(the_open_bucket_answers_the_top_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
