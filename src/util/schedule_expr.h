#pragma once
#include <stddef.h>
#include <stdint.h>

/* AWS EventBridge schedule expressions, evaluated in UTC:
 *   rate(N unit)  N in 1..1000000, unit minute(s)/hour(s)/day(s), singular exactly when N is 1
 *   cron(Minutes Hours Day-of-month Month Day-of-week Year)
 *     six fields separated by single spaces; items "*", "a", "a-b", each optionally followed by
 *     "/step", joined by ","; months JAN-DEC and days SUN-SAT (1 = SUN, 7 = SAT) by name in any case;
 *     exactly one of day-of-month and day-of-week is "?"; as the whole field only:
 *     day-of-month "L", "LW", "15W"; day-of-week "L" (= SAT), "6L" (last FRI), "2#1" (first MON);
 *     L and W are capitals only; the "rate(" and "cron(" prefixes are lower case.
 * A parsed expression is a plain struct (no heap), so callers may keep arrays of them. */

enum { SCHED_EXPR_MAX_LEN = 256 }; /* longer text is refused */

enum { SCHED_RATE = 1, SCHED_CRON = 2 };

/* How the day-of-month field picks days. */
enum {
    SCHED_DOM_ANY = 0,      /* "?": day-of-week decides */
    SCHED_DOM_SET,          /* the days in `dom` */
    SCHED_DOM_LAST,         /* "L": last day of the month */
    SCHED_DOM_LAST_WEEKDAY, /* "LW": last Monday-Friday of the month */
    SCHED_DOM_WEEKDAY,      /* "15W": weekday nearest to dom_day, within the month */
};

/* How the day-of-week field picks days. */
enum {
    SCHED_DOW_ANY = 0, /* "?": day-of-month decides */
    SCHED_DOW_SET,     /* the days in `dow` ("L" alone is SAT) */
    SCHED_DOW_LAST,    /* "6L": last dow_day of the month */
    SCHED_DOW_NTH,     /* "3#2": dow_nth-th dow_day of the month */
};

typedef struct sched_expr {
    uint8_t kind;      /* SCHED_RATE or SCHED_CRON */
    int64_t period;    /* rate: seconds between firings */
    /* cron: bit v set when value v matches */
    uint64_t minutes;  /* bits 0-59 */
    uint32_t hours;    /* bits 0-23 */
    uint32_t dom;      /* bits 1-31, for SCHED_DOM_SET */
    uint16_t months;   /* bits 1-12 */
    uint8_t dow;       /* bits 1-7 (1 = Sunday), for SCHED_DOW_SET */
    uint64_t years[4]; /* bit y-1970 for years 1970-2199 */
    uint8_t dom_mode;  /* SCHED_DOM_* */
    uint8_t dom_day;   /* SCHED_DOM_WEEKDAY: the day before "W" */
    uint8_t dow_mode;  /* SCHED_DOW_* */
    uint8_t dow_day;   /* SCHED_DOW_LAST / _NTH: 1-7, 1 = Sunday */
    uint8_t dow_nth;   /* SCHED_DOW_NTH: 1-5 */
} sched_expr_t;

/* Parses text; returns 0 and fills *out, or -1 with a message in err saying which part is wrong
 * (NUL-terminated, truncated to err_size; err may be NULL when err_size is 0). */
int sched_expr_parse(const char *text, sched_expr_t *out, char *err, size_t err_size);

/* The first firing strictly after `after` (seconds since the epoch, UTC), or -1 when there is none.
 * rate: firings are anchor + k*period for k >= 1 (anchor = when the schedule was created).
 * cron: firings are at second 0 of every matching minute, in 1970-2199; -1 when no later minute
 * matches (years all past, or impossible dates such as 30 FEB). */
int64_t sched_expr_next(const sched_expr_t *e, int64_t anchor, int64_t after);

/* 1 when the schedule fires at exactly time t (same rules as sched_expr_next), else 0. */
int sched_expr_matches(const sched_expr_t *e, int64_t anchor, int64_t t);
