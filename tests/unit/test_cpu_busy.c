/* The machine's busy share from two readings of /proc/stat's first line
 * (util/cpu_busy.c), which the scheduler asks before it adds an instance to
 * busy ones; and a reading of this machine's own /proc/stat. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/cpu_busy.h"

static void the_share_is_the_time_not_idle_between_two_readings(void **state)
{
    /* user nice system idle iowait irq softirq steal guest guest_nice */
    const char *a = "cpu  100 0 50 800 50 0 0 0 0 0\n";
    /* +90 user, +10 system, +40 idle: 100 of 140 */
    assert_float_equal(cpu_busy_between(a, "cpu  190 0 60 840 50 0 0 0 0 0\n"), 100.0 / 140, 1e-9);
    assert_float_equal(cpu_busy_between("cpu  0 0 0 0 0 0 0 0\n", "cpu  5 0 5 0 0 0 0 0\n"), 1.0, 1e-9);
    assert_float_equal(cpu_busy_between("cpu  0 0 0 0\n", "cpu  0 0 0 10\n"), 0.0, 1e-9); /* (4 fields: old kernels) */
}

static void what_is_no_reading_gives_no_share(void **state)
{
    assert_true(cpu_busy_between("cpu0 1 2 3 4\n", "cpu0 2 3 4 5\n") == -1); /* (one CPU's line) */
    assert_true(cpu_busy_between("cpu  1 2 3 4\n", "cpu  1 2 3 4\n") == -1); /* (no time passed) */
    assert_true(cpu_busy_between("", "cpu  1 2 3 4\n") == -1);
    assert_true(cpu_busy_between("cpu  x\n", "cpu  1 2 3 4\n") == -1);
}

static void this_machine_gives_a_share_after_a_period(void **state)
{
    /* The first look only starts a period; one a period later answers. */
    assert_true(cpu_busy_share(1000) == -1);
    assert_true(cpu_busy_share(1000 + CPU_BUSY_PERIOD_MS / 2) == -1); /* (within the period: the last answer) */
    for (volatile long i = 0; i < 20000000; i++) /* (some CPU time, so that the clock ticks pass) */
        ;
    double share = cpu_busy_share(1000 + CPU_BUSY_PERIOD_MS);
    assert_true(share == -1 || (share >= 0 && share <= 1)); /* (-1: no tick passed between the two) */
    /* A look long after the last starts a new period. */
    assert_true(cpu_busy_share(1000 + 100 * CPU_BUSY_PERIOD_MS) == -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_share_is_the_time_not_idle_between_two_readings),
        cmocka_unit_test(what_is_no_reading_gives_no_share),
        cmocka_unit_test(this_machine_gives_a_share_after_a_period),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
