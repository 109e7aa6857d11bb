/* The busy share of the CPUs the daemon may run on, from two readings of
 * /proc/stat (util/cpu_busy.c), which the scheduler asks before it adds an
 * instance to busy ones; and a reading of this machine's own /proc/stat. */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <unistd.h>

#include "util/cpu_busy.h"

static cpu_set_t cpus_of(int a, int b)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(a, &s);
    if (b >= 0)
        CPU_SET(b, &s);
    return s;
}

/* user nice system idle iowait irq softirq steal guest guest_nice */
static const char *before = "cpu  300 0 60 1600 60 0 0 0 0 0\n"
                            "cpu0 100 0 50 800 50 0 0 0 0 0\n"
                            "cpu1 200 0 10 800 10 0 0 0 0 0\n"
                            "intr 12345 0 1 2\nctxt 99\n";
/* cpu0: +90 user, +10 system, +40 idle; cpu1: +0 busy, +100 idle */
static const char *after = "cpu  390 0 70 1740 60 0 0 0 0 0\n"
                           "cpu0 190 0 60 840 50 0 0 0 0 0\n"
                           "cpu1 200 0 10 900 10 0 0 0 0 0\n"
                           "intr 12399 0 1 2\nctxt 199\n";

static void the_share_is_the_time_not_idle_of_the_cpus_counted(void **state)
{
    cpu_set_t both = cpus_of(0, 1), first = cpus_of(0, -1), second = cpus_of(1, -1);
    assert_float_equal(cpu_busy_between(before, after, &both), 100.0 / 240, 1e-9);
    /* A daemon kept to cpu0 counts cpu0 alone: its share, not the machine's. */
    assert_float_equal(cpu_busy_between(before, after, &first), 100.0 / 140, 1e-9);
    assert_float_equal(cpu_busy_between(before, after, &second), 0.0, 1e-9);
    assert_float_equal(cpu_busy_between("cpu0 0 0 0 0 0 0 0 0\n", "cpu0 5 0 5 0 0 0 0 0\n", &first), 1.0, 1e-9);
    assert_float_equal(cpu_busy_between("cpu0 0 0 0 0\n", "cpu0 0 0 0 10\n", &first), 0.0, 1e-9); /* (4 fields: old kernels) */
}

static void what_is_no_reading_gives_no_share(void **state)
{
    cpu_set_t first = cpus_of(0, -1), third = cpus_of(2, -1);
    assert_true(cpu_busy_between(before, after, &third) == -1); /* (no line of a CPU counted) */
    assert_true(cpu_busy_between("cpu  1 2 3 4\n", "cpu  2 3 4 5\n", &first) == -1); /* (the aggregate alone) */
    assert_true(cpu_busy_between("cpu0 1 2 3 4\n", "cpu0 1 2 3 4\n", &first) == -1); /* (no time passed) */
    assert_true(cpu_busy_between("", "cpu0 1 2 3 4\n", &first) == -1);
    assert_true(cpu_busy_between("cpu0 x\n", "cpu0 1 2 3 4\n", &first) == -1);
    assert_true(cpu_busy_between("cpu0 1 2 3 4", "cpu0 2 3 4 5", &first) == 0.75); /* (no newline at the end) */
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

static void this_machine_gives_a_pressure_after_a_period_if_it_has_psi(void **state)
{
    FILE *f = fopen("/proc/pressure/cpu", "r");
    if (f)
        fclose(f);
    assert_true(cpu_pressure_share(5000) == -1); /* (a first look only starts a period) */
    usleep(20 * 1000);
    double ms = 20; /* (the clock given, not the one slept by: a late wake-up only makes the share larger) */
    double p = cpu_pressure_share(5000 + ms);
    if (f) { /* (a share of the time; PSI's total may catch up with a wait in one step: over 1) */
        assert_true(p >= 0);
        assert_true(cpu_last_look_ms() >= 5000 + ms); /* (this look gave a value) */
    } else {
        assert_true(p == -1); /* no PSI: never a pressure */
    }
}

static void the_pressure_is_the_some_lines_total(void **state)
{
    assert_true(cpu_pressure_total("some avg10=13.57 avg60=13.36 avg300=14.79 total=4390327599\n"
                                   "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n") == 4390327599LL);
    assert_true(cpu_pressure_total("some avg10=0.00 avg60=0.00 avg300=0.00 total=0") == 0); /* (no newline) */
    assert_true(cpu_pressure_total("full avg10=0.00 avg60=0.00 avg300=0.00 total=7\n") == -1); /* (not "some") */
    assert_true(cpu_pressure_total("some avg10=0.00\nfull avg10=0.00 total=7\n") == -1);    /* (another line's) */
    assert_true(cpu_pressure_total("some avg10=0.00 total=x\n") == -1);
    assert_true(cpu_pressure_total("some avg10=0.00 total=-5\n") == -1);
    assert_true(cpu_pressure_total("") == -1);
}

static void saturated_is_busy_or_contended(void **state)
{
    assert_int_equal(cpu_saturated_by(0.96, -1), 1);  /* busy, no PSI */
    assert_int_equal(cpu_saturated_by(0.90, -1), 0);
    assert_int_equal(cpu_saturated_by(0.90, 0.42), 1); /* 8 connections on 2 cores: idle gaps, but a queue */
    assert_int_equal(cpu_saturated_by(0.78, 0.14), 0); /* 2 connections: nobody waits long */
    assert_int_equal(cpu_saturated_by(-1, 0.9), 1);    /* either measure says it */
    assert_int_equal(cpu_saturated_by(-1, 0.1), 0);
    assert_int_equal(cpu_saturated_by(0.5, -1), 0);
    assert_int_equal(cpu_saturated_by(-1, -1), -1);    /* neither: not known */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_share_is_the_time_not_idle_of_the_cpus_counted),
        cmocka_unit_test(what_is_no_reading_gives_no_share),
        cmocka_unit_test(this_machine_gives_a_share_after_a_period),
        cmocka_unit_test(this_machine_gives_a_pressure_after_a_period_if_it_has_psi),
        cmocka_unit_test(the_pressure_is_the_some_lines_total),
        cmocka_unit_test(saturated_is_busy_or_contended),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
