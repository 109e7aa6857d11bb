/* Unit tests of the schedule expressions (src/util/schedule_expr.c): parsing rate(...) and
 * cron(...) with their error messages, and the next firing time in UTC, including L, W, #,
 * month/day names, leap years and expressions that can never fire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/schedule_expr.h"

/* Seconds since the epoch of y-m-d H:M UTC, counted naively (independent of the module). */
static int64_t utc(int y, int m, int d, int H, int M)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t days = 0;
    for (int yy = 1970; yy < y; yy++)
        days += 365 + ((yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0);
    for (int mm = 1; mm < m; mm++)
        days += mdays[mm - 1] + (mm == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    days += d - 1;
    return days * 86400 + H * 3600 + M * 60;
}

static sched_expr_t parse_ok(const char *text)
{
    sched_expr_t e;
    char err[200];
    int rc = sched_expr_parse(text, &e, err, sizeof err);
    if (rc != 0)
        fail_msg("%s: %s", text, err);
    assert_string_equal(err, "");
    return e;
}

/* The parse fails and the message contains `want`. */
static void parse_err(const char *text, const char *want)
{
    sched_expr_t e;
    char err[200];
    assert_int_equal(sched_expr_parse(text, &e, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("%s: got \"%s\", want \"%s\"", text, err, want);
}

static int64_t next(const char *text, int64_t after)
{
    sched_expr_t e = parse_ok(text);
    int64_t t = sched_expr_next(&e, 0, after);
    if (t != -1)
        assert_true(sched_expr_matches(&e, 0, t));
    return t;
}

static void test_utc_helper(void **state)
{
    (void)state;
    assert_int_equal(utc(1970, 1, 1, 0, 0), 0);
    assert_int_equal(utc(2026, 12, 6, 0, 0), 1796515200); /* date -u -d @1796515200 */
    assert_int_equal(utc(2028, 2, 29, 0, 0), 1835395200);
    assert_int_equal(utc(2100, 2, 28, 0, 0), 4107456000);
    assert_int_equal(utc(2000, 3, 1, 0, 0), 951868800);
}

static void test_rate_next(void **state)
{
    (void)state;
    sched_expr_t e = parse_ok("rate(5 minutes)");
    assert_int_equal(e.kind, SCHED_RATE);
    assert_int_equal(e.period, 300);
    assert_int_equal(sched_expr_next(&e, 1000, 1000), 1300);
    assert_int_equal(sched_expr_next(&e, 1000, 1299), 1300);
    assert_int_equal(sched_expr_next(&e, 1000, 1300), 1600);
    assert_int_equal(sched_expr_next(&e, 1000, 0), 1300); /* k >= 1 even before the anchor */
    assert_true(sched_expr_matches(&e, 1000, 1600));
    assert_false(sched_expr_matches(&e, 1000, 1000));
    assert_false(sched_expr_matches(&e, 1000, 1601));

    e = parse_ok("rate(1 minute)");
    assert_int_equal(e.period, 60);
    e = parse_ok("rate(1 hour)");
    assert_int_equal(e.period, 3600);
    assert_int_equal(sched_expr_next(&e, 100, 3700), 7300);
    e = parse_ok("rate(2 days)");
    assert_int_equal(e.period, 172800);
    assert_int_equal(sched_expr_next(&e, 0, 172800 * 3 - 1), 172800 * 3);
    e = parse_ok("rate(1000000 days)");
    assert_int_equal(e.period, INT64_C(86400000000));
    assert_int_equal(sched_expr_next(&e, INT64_MAX - 10, 0), -1); /* would overflow */
}

static void test_rate_errors(void **state)
{
    (void)state;
    parse_err("rate(0 minutes)", "rate(0 minutes): the value must be a positive integer");
    parse_err("rate(1 minutes)", "rate(1 minutes): use \"minute\" when the value is 1");
    parse_err("rate(5 minute)", "rate(5 minute): use \"minutes\" when the value is not 1");
    parse_err("rate(1 days)", "use \"day\" when the value is 1");
    parse_err("rate(05 minutes)", "rate(05 minutes): the value must not have leading zeros");
    parse_err("rate(-1 minutes)", "rate(-1 minutes): the value must be a positive integer");
    parse_err("rate(+1 minute)", "the value must be a positive integer");
    parse_err("rate(1.5 minutes)", "rate(1.5 minutes): the value must be a positive integer");
    parse_err("rate(00 minutes)", "the value must be a positive integer");
    parse_err("rate(007 minutes)", "the value must not have leading zeros");
    parse_err("rate(5 )", "rate(5 ): expected a unit after the value (minute(s), hour(s) or day(s))");
    parse_err("rate(5  minutes)", "rate(5  minutes): expected exactly one space between the value and the unit");
    parse_err("rate(5minutes)", "expected exactly one space");
    parse_err("rate( 5 minutes)", "the value must be a positive integer");
    parse_err("rate(5 minutes )", "unknown unit \"minutes \"");
    parse_err("rate(5 weeks)", "rate(5 weeks): unknown unit \"weeks\" (use minute(s), hour(s) or day(s))");
    parse_err("rate(5 Minutes)", "unknown unit \"Minutes\"");
    parse_err("rate(5)", "rate(5): expected a unit after the value");
    parse_err("rate()", "rate(): expected a value and a unit, like rate(5 minutes)");
    parse_err("rate(1000001 minutes)", "the value must be at most 1000000");
    parse_err("rate(99999999999999999999 minutes)", "the value must be at most 1000000");
    parse_err("rate(5 minutes", "rate(...) must end with \")\"");
    parse_err("rate(", "must end with");
    parse_err("RATE(5 minutes)", "expression must be rate(...) or cron(...)");
    parse_err(" rate(5 minutes)", "expression must be rate(...) or cron(...)");
    parse_err("", "expression must be rate(...) or cron(...)");
    char long_text[300];
    memset(long_text, '0', sizeof long_text);
    memcpy(long_text, "rate(", 5);
    long_text[sizeof long_text - 1] = '\0';
    parse_err(long_text, "expression is longer than 256 characters");
}

static void test_cron_daily_and_steps(void **state)
{
    (void)state;
    const char *noon = "cron(0 12 * * ? *)";
    assert_int_equal(next(noon, utc(2026, 12, 6, 0, 0)), utc(2026, 12, 6, 12, 0));
    assert_int_equal(next(noon, utc(2026, 12, 6, 12, 0)), utc(2026, 12, 7, 12, 0));
    assert_int_equal(next(noon, utc(2026, 12, 6, 11, 59) + 59), utc(2026, 12, 6, 12, 0));
    assert_int_equal(next(noon, utc(2026, 12, 31, 13, 0)), utc(2027, 1, 1, 12, 0));

    const char *q = "cron(0/15 * * * ? *)";
    assert_int_equal(next(q, utc(2026, 12, 6, 12, 7)), utc(2026, 12, 6, 12, 15));
    assert_int_equal(next(q, utc(2026, 12, 6, 12, 45)), utc(2026, 12, 6, 13, 0));
    assert_int_equal(next(q, utc(2026, 12, 6, 23, 50)), utc(2026, 12, 7, 0, 0));
    assert_int_equal(next("cron(*/5 * * * ? *)", utc(2026, 1, 1, 0, 0) + 1), utc(2026, 1, 1, 0, 5));
    assert_int_equal(next("cron(10-40/15 8,20 * * ? *)", utc(2026, 1, 1, 8, 40)),
                     utc(2026, 1, 1, 20, 10));
    assert_int_equal(next("cron(0 8 1 * ? *)", utc(2026, 12, 6, 0, 0)), utc(2027, 1, 1, 8, 0));
    assert_int_equal(next("cron(* * * * ? *)", -100), 0); /* nothing before 1970 */
}

static void test_cron_days_of_week(void **state)
{
    (void)state;
    /* 2026-12-05 is a Saturday. */
    const char *wk = "cron(0 18 ? * MON-FRI *)";
    assert_int_equal(next(wk, utc(2026, 12, 5, 19, 0)), utc(2026, 12, 7, 18, 0));
    assert_int_equal(next(wk, utc(2026, 12, 7, 18, 0)), utc(2026, 12, 8, 18, 0));
    assert_int_equal(next("cron(0 18 ? * 2-6 *)", utc(2026, 12, 5, 19, 0)), utc(2026, 12, 7, 18, 0));
    /* Names in any case. */
    assert_int_equal(next("cron(0 18 ? * mon-Fri *)", utc(2026, 12, 5, 19, 0)), utc(2026, 12, 7, 18, 0));
    assert_int_equal(next("cron(0 0 1 feb,Mar ? *)", utc(2026, 12, 6, 0, 0)), utc(2027, 2, 1, 0, 0));
    /* L alone in day-of-week is Saturday. */
    assert_int_equal(next("cron(0 0 ? * L *)", utc(2026, 12, 6, 0, 0)), utc(2026, 12, 12, 0, 0));
    /* Last Friday of each month of 2027: 2027-01-29, ..., 2027-12-31; none after. */
    const char *lf = "cron(15 10 ? * 6L 2027)";
    assert_int_equal(next(lf, utc(2026, 12, 6, 0, 0)), utc(2027, 1, 29, 10, 15));
    assert_int_equal(next(lf, utc(2027, 1, 29, 10, 15)), utc(2027, 2, 26, 10, 15));
    assert_int_equal(next(lf, utc(2027, 12, 1, 0, 0)), utc(2027, 12, 31, 10, 15));
    assert_int_equal(next(lf, utc(2027, 12, 31, 10, 15)), -1);
    /* First Monday: 2026-12-07, then 2027-01-04. */
    const char *fm = "cron(0 10 ? * 2#1 *)";
    assert_int_equal(next(fm, utc(2026, 12, 6, 0, 0)), utc(2026, 12, 7, 10, 0));
    assert_int_equal(next(fm, utc(2026, 12, 7, 10, 0)), utc(2027, 1, 4, 10, 0));
    assert_int_equal(next("cron(0 10 ? * MON#1 *)", utc(2026, 12, 7, 10, 0)), utc(2027, 1, 4, 10, 0));
    /* Fifth Tuesday only in months that have one: December 2026 has 1, 8, ..., 29. */
    assert_int_equal(next("cron(0 0 ? * 3#5 *)", utc(2026, 12, 6, 0, 0)), utc(2026, 12, 29, 0, 0));
}

static void test_cron_last_and_weekday(void **state)
{
    (void)state;
    const char *last = "cron(0 0 L * ? *)";
    assert_int_equal(next(last, utc(2028, 2, 1, 0, 0)), utc(2028, 2, 29, 0, 0)); /* leap year */
    assert_int_equal(next(last, utc(2027, 2, 1, 0, 0)), utc(2027, 2, 28, 0, 0));
    assert_int_equal(next(last, utc(2026, 4, 1, 0, 0)), utc(2026, 4, 30, 0, 0));
    /* 2026-08-15 is a Saturday -> Friday 14th; 2026-11-15 is a Sunday -> Monday 16th. */
    const char *w15 = "cron(0 9 15W * ? *)";
    assert_int_equal(next(w15, utc(2026, 8, 1, 0, 0)), utc(2026, 8, 14, 9, 0));
    assert_int_equal(next(w15, utc(2026, 11, 1, 0, 0)), utc(2026, 11, 16, 9, 0));
    assert_int_equal(next(w15, utc(2026, 12, 1, 0, 0)), utc(2026, 12, 15, 9, 0)); /* Tuesday */
    /* 2026-08-01 is a Saturday: Monday 3rd, not Friday 31 July. */
    assert_int_equal(next("cron(0 9 1W * ? *)", utc(2026, 7, 2, 0, 0)), utc(2026, 8, 3, 9, 0));
    /* 2026-05-31 is a Sunday: Friday 29th, not Monday 1 June. */
    assert_int_equal(next("cron(0 9 31W * ? *)", utc(2026, 5, 1, 0, 0)), utc(2026, 5, 29, 9, 0));
    /* Last weekday: 2026-02-28 is a Saturday -> 27th; 2026-05-31 Sunday -> 29th. */
    const char *lw = "cron(0 9 LW * ? *)";
    assert_int_equal(next(lw, utc(2026, 2, 1, 0, 0)), utc(2026, 2, 27, 9, 0));
    assert_int_equal(next(lw, utc(2026, 5, 1, 0, 0)), utc(2026, 5, 29, 9, 0));
    assert_int_equal(next(lw, utc(2026, 6, 1, 0, 0)), utc(2026, 6, 30, 9, 0));
}

static void test_cron_never_or_rarely(void **state)
{
    (void)state;
    int64_t now = utc(2026, 12, 6, 0, 0);
    assert_int_equal(next("cron(0 0 30 2 ? *)", now), -1);
    assert_int_equal(next("cron(0 0 31 4,6,9,11 ? *)", now), -1);
    assert_int_equal(next("cron(0 0 31W 4 ? *)", now), -1);
    assert_int_equal(next("cron(0 0 1 1 ? 1999)", now), -1);
    assert_int_equal(next("cron(0 0 1 1 ? 2026)", now), -1);
    assert_int_equal(next("cron(0 0 29 2 ? 2100)", now), -1); /* 2100 is not a leap year */
    assert_int_equal(next("cron(0 0 29 2 ? 2097-2104)", now), utc(2104, 2, 29, 0, 0));
    assert_int_equal(next("cron(0 0 29 2 ? *)", now), utc(2028, 2, 29, 0, 0));
    const char *end = "cron(59 23 31 12 ? 2199)";
    assert_int_equal(next(end, now), utc(2199, 12, 31, 23, 59));
    assert_int_equal(next(end, utc(2199, 12, 31, 23, 59)), -1);
    assert_int_equal(next(end, INT64_MAX), -1);
    assert_int_equal(next("cron(0 0 1 1 ? 1970)", INT64_MIN), 0);
}

static void test_cron_errors(void **state)
{
    (void)state;
    parse_err("cron(0 12 * * ?)",
              "cron needs six fields (minutes hours day-of-month month day-of-week year), got 5");
    parse_err("cron(0 12 * * ? * *)", "got 7");
    parse_err("cron()", "got 0");
    parse_err("cron(0 12 ? * ? *)", "cron: day-of-month and day-of-week cannot both be \"?\"");
    parse_err("cron(0 12 * * * *)", "cron: one of day-of-month and day-of-week must be \"?\"");
    parse_err("cron(0 12 1 * MON *)", "one of day-of-month and day-of-week must be \"?\"");
    parse_err("cron(61 12 * * ? *)", "cron minutes field \"61\": 61 is outside 0-59");
    parse_err("cron(60 12 * * ? *)", "cron minutes field \"60\": 60 is outside 0-59");
    parse_err("cron(0 24 * * ? *)", "cron hours field \"24\": 24 is outside 0-23");
    parse_err("cron(0 0 0 * ? *)", "cron day-of-month field \"0\": 0 is outside 1-31");
    parse_err("cron(0 0 1 13 ? *)", "cron month field \"13\": 13 is outside 1-12");
    parse_err("cron(0 0 1 1 ? 2200)", "cron year field \"2200\": 2200 is outside 1970-2199");
    parse_err("cron(1,99999999999 0 1 1 ? *)", "99999999999 is outside 0-59");
    parse_err("cron(*/0 * * * ? *)", "cron minutes field \"*/0\": step 0 must be 1-60");
    parse_err("cron(*/61 * * * ? *)", "step 61 must be 1-60");
    parse_err("cron(5-1 * * * ? *)", "cron minutes field \"5-1\": range 5-1 starts after it ends");
    parse_err("cron(0 0 1 JANX ? *)", "cron month field \"JANX\": \"JANX\" is not a number 1-12 or a name JAN-DEC");
    parse_err("cron(0 0 ? * 8 *)", "cron day-of-week field \"8\": 8 is outside 1-7");
    parse_err("cron(0 0 ? * FOO *)", "\"FOO\" is not a number 1-7 or a name SUN-SAT");
    parse_err("cron(L 0 1 * ? *)", "cron minutes field \"L\": L, W and # are only allowed in day-of-month and day-of-week");
    parse_err("cron(0 0 1 * ? 2027L)", "L, W and # are only allowed");
    parse_err("cron(? 0 1 * ? *)", "\"?\" is only allowed in day-of-month and day-of-week");
    parse_err("cron(0 0 1 * ?,1 *)", "\"?\" must be the whole field");
    parse_err("cron(0 12 * * ? * )", "cron: empty field (fields are separated by exactly one space)");
    parse_err("cron( 0 12 * * ? *)", "cron: empty field");
    parse_err("cron(0  12 * * ? *)", "cron: empty field");
    parse_err("cron(0 12 * * ? *", "cron(...) must end with \")\"");
    parse_err("cron(1,,2 0 * * ? *)", "cron minutes field \"1,,2\": a value is missing");
    parse_err("cron(1, 0 * * ? *)", "a value is missing");
    parse_err("cron(1- 0 * * ? *)", "a value is missing");
    parse_err("cron(1x 0 * * ? *)", "unexpected \"x\"");
    parse_err("cron(0 0 1,L * ? *)", "L and W must be the whole field");
    parse_err("cron(0 0 L-2 * ? *)", "L and W must be the whole field");
    parse_err("cron(0 0 lw * ? *)", "cron day-of-month field \"lw\": unexpected \"l\"");
    parse_err("cron(0 0 1-5W * ? *)", "L, W and # go with one day, not a list, range or step");
    parse_err("cron(0 0 32W * ? *)", "32 is outside 1-31");
    parse_err("cron(0 0 ? * 3#6 *)", "week number 6 after # is outside 1-5");
    parse_err("cron(0 0 ? * 3#0 *)", "week number 0 after # is outside 1-5");
    parse_err("cron(0 0 ? * 3# *)", "# needs a day and a week number, like 3#2");
    parse_err("cron(0 0 ? * 8#1 *)", "8 is outside 1-7");
    parse_err("cron(0 0 ? * 1-3L *)", "go with one day");
    parse_err("cron(0 0 1# * ? *)", "cron day-of-month field \"1#\": unexpected \"#\"");
    parse_err("cron(0 0 1\t1 * ? *)", "cron day-of-month field \"1\t1\": unexpected byte 0x09");
}

static void test_parse_fills_bitsets(void **state)
{
    (void)state;
    sched_expr_t e = parse_ok("cron(0,30 9-17/4 1,15 JAN-MAR ? 1970,2199)");
    assert_int_equal(e.kind, SCHED_CRON);
    assert_true(e.minutes == ((UINT64_C(1) << 0) | (UINT64_C(1) << 30)));
    assert_int_equal(e.hours, (1u << 9) | (1u << 13) | (1u << 17));
    assert_int_equal(e.dom, (1u << 1) | (1u << 15));
    assert_int_equal(e.months, (1u << 1) | (1u << 2) | (1u << 3));
    assert_int_equal(e.dom_mode, SCHED_DOM_SET);
    assert_int_equal(e.dow_mode, SCHED_DOW_ANY);
    assert_true(e.years[0] == 1 && e.years[1] == 0 && e.years[2] == 0);
    assert_true(e.years[3] == UINT64_C(1) << (229 - 192));
    e = parse_ok("cron(0 0 ? * 5L *)");
    assert_int_equal(e.dow_mode, SCHED_DOW_LAST);
    assert_int_equal(e.dow_day, 5);
    /* A failed parse leaves a zeroed struct and a NULL err is fine with size 0. */
    assert_int_equal(sched_expr_parse("cron(0 0 ? * 5L", &e, NULL, 0), -1);
    assert_int_equal(e.kind, 0);
    char small[8];
    assert_int_equal(sched_expr_parse("nope", &e, small, sizeof small), -1);
    assert_string_equal(small, "express");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utc_helper),
        cmocka_unit_test(test_rate_next),
        cmocka_unit_test(test_rate_errors),
        cmocka_unit_test(test_cron_daily_and_steps),
        cmocka_unit_test(test_cron_days_of_week),
        cmocka_unit_test(test_cron_last_and_weekday),
        cmocka_unit_test(test_cron_never_or_rarely),
        cmocka_unit_test(test_cron_errors),
        cmocka_unit_test(test_parse_fills_bitsets),
    };
    return cmocka_run_group_tests_name("schedule_expr", tests, NULL, NULL);
}
