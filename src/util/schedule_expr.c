/* AWS EventBridge schedule expressions: parsing rate(...)/cron(...) and finding the next firing.
 * Calendar arithmetic is our own (days <-> civil date), so nothing depends on TZ or mktime. */
#include "util/schedule_expr.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define YEAR_MIN 1970
#define YEAR_MAX 2199
#define DAY_SECS 86400
#define END_SECS INT64_C(7258118400) /* 2200-01-01T00:00:00Z: no cron firing at or after this */

static int fail(char *err, size_t size, const char *fmt, ...)
{
    if (size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, size, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- calendar (proleptic Gregorian, days since 1970-01-01; H. Hinnant's algorithms) ---- */

static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int days_in_month(int y, int m)
{
    static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return n[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

/* ---- parsing ---- */

typedef struct {
    const char *name; /* as in error messages */
    int lo, hi;
    const char *const *names; /* 3-letter names of lo..hi, or NULL */
} field_t;

static const char *const MONTHS[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const DAYS[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};
enum { F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_YEAR };
static const field_t FIELDS[6] = {
    {"minutes", 0, 59, NULL}, {"hours", 0, 23, NULL},    {"day-of-month", 1, 31, NULL},
    {"month", 1, 12, MONTHS}, {"day-of-week", 1, 7, DAYS}, {"year", YEAR_MIN, YEAR_MAX, NULL},
};

/* One field being parsed: p moves through text..end; errors quote the whole field. */
typedef struct {
    const field_t *f;
    const char *text, *p, *end;
    char *err;
    size_t err_size;
} ctx_t;

static int ferr(const ctx_t *c, const char *fmt, ...)
{
    if (!c->err_size)
        return -1;
    int n = snprintf(c->err, c->err_size, "cron %s field \"%.*s\": ", c->f->name,
                     (int)(c->end - c->text), c->text);
    if (n >= 0 && (size_t)n < c->err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->err_size - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Says what is wrong at c->p when it is not the character we wanted. */
static int unexpected(const ctx_t *c)
{
    if (c->p >= c->end || *c->p == ',')
        return ferr(c, "a value is missing");
    unsigned char ch = (unsigned char)*c->p;
    if (isprint(ch))
        return ferr(c, "unexpected \"%c\"", ch);
    return ferr(c, "unexpected byte 0x%02x", ch);
}

/* Reads a run of digits into *v (capped so huge numbers cannot overflow); 0 if none. */
static int read_digits(ctx_t *c, long *v)
{
    const char *s = c->p;
    *v = 0;
    while (c->p < c->end && isdigit((unsigned char)*c->p)) {
        if (*v < 1000000000L)
            *v = *v * 10 + (*c->p - '0');
        c->p++;
    }
    return c->p > s;
}

/* A number in lo..hi, or (month and day-of-week) a 3-letter name in any case. */
static int parse_value(ctx_t *c, int *out)
{
    const field_t *f = c->f;
    const char *s = c->p;
    long v;
    if (read_digits(c, &v)) {
        if (v < f->lo || v > f->hi)
            return ferr(c, "%.*s is outside %d-%d", (int)(c->p - s), s, f->lo, f->hi);
        *out = (int)v;
        return 0;
    }
    if (!f->names || c->p >= c->end || !isalpha((unsigned char)*c->p))
        return unexpected(c);
    while (c->p < c->end && isalpha((unsigned char)*c->p))
        c->p++;
    for (int i = 0; i <= f->hi - f->lo && c->p - s == 3; i++)
        if (strncasecmp(s, f->names[i], 3) == 0) {
            *out = f->lo + i;
            return 0;
        }
    return ferr(c, "\"%.*s\" is not a number %d-%d or a name %s-%s", (int)(c->p - s), s, f->lo,
                f->hi, f->names[0], f->names[f->hi - f->lo]);
}

/* A "," list of "*", "a", "a-b", each optionally "/step"; sets bit v-lo of set for each value v. */
static int parse_set(ctx_t *c, uint64_t set[4])
{
    const field_t *f = c->f;
    for (;;) {
        const char *item = c->p;
        int a = f->lo, b = f->hi;
        if (c->p < c->end && *c->p == '*') {
            c->p++;
        } else {
            if (parse_value(c, &a))
                return -1;
            b = a;
            if (c->p < c->end && *c->p == '-') {
                c->p++;
                if (parse_value(c, &b))
                    return -1;
                if (b < a)
                    return ferr(c, "range %.*s starts after it ends", (int)(c->p - item), item);
            } else if (c->p < c->end && *c->p == '/') {
                b = f->hi; /* "a/step" runs from a to the end of the field */
            }
        }
        long step = 1;
        if (c->p < c->end && *c->p == '/') {
            c->p++;
            const char *s = c->p;
            int span = f->hi - f->lo + 1;
            if (!read_digits(c, &step))
                return unexpected(c);
            if (step < 1 || step > span)
                return ferr(c, "step %.*s must be 1-%d", (int)(c->p - s), s, span);
        }
        for (int v = a; v <= b; v += (int)step)
            set[(v - f->lo) / 64] |= UINT64_C(1) << ((v - f->lo) % 64);
        if (c->p == c->end)
            return 0;
        if (*c->p != ',')
            return unexpected(c);
        c->p++;
    }
}

/* Parses text..end as one value: the day before a suffix (15W, 6L) or before "#". */
static int parse_whole_value(ctx_t *c, const char *end, int *out)
{
    const char *saved = c->end;
    c->end = end; /* stop at the suffix */
    int rc = parse_value(c, out), rest = c->p != end;
    c->end = saved;
    if (rc == 0 && rest)
        return ferr(c, "L, W and # go with one day, not a list, range or step");
    return rc;
}

/* One field into e. L, W, # and ? only make sense alone in the day fields, so they are checked
 * as whole-field forms first; everything else is a list of values, ranges and steps. */
static int parse_field(ctx_t *c, int idx, sched_expr_t *e)
{
    uint64_t set[4] = {0};
    size_t n = (size_t)(c->end - c->text);
    const char *t = c->text, *hash = memchr(t, '#', n);
    int d, dom = idx == F_DOM, dow = idx == F_DOW;
    long nth;
    if (memchr(t, '?', n)) {
        if (!dom && !dow)
            return ferr(c, "\"?\" is only allowed in day-of-month and day-of-week");
        return n == 1 ? 0 : ferr(c, "\"?\" must be the whole field"); /* mode stays *_ANY */
    }
    if (!dom && !dow && idx != F_MON && (memchr(t, 'L', n) || memchr(t, 'W', n) || hash))
        return ferr(c, "L, W and # are only allowed in day-of-month and day-of-week");
    if (dom && t[0] == 'L' && (n == 1 || (n == 2 && t[1] == 'W'))) {
        e->dom_mode = n == 1 ? SCHED_DOM_LAST : SCHED_DOM_LAST_WEEKDAY;
        return 0;
    }
    if (dom && t[n - 1] == 'W') {
        if (parse_whole_value(c, c->end - 1, &d))
            return -1;
        e->dom_mode = SCHED_DOM_WEEKDAY;
        e->dom_day = (uint8_t)d;
        return 0;
    }
    if (dom && (memchr(t, 'L', n) || memchr(t, 'W', n)))
        return ferr(c, "L and W must be the whole field: L, LW or a day then W (15W)");
    if (dow && hash) {
        if (parse_whole_value(c, hash, &d))
            return -1;
        c->p = hash + 1;
        if (!read_digits(c, &nth) || c->p != c->end)
            return ferr(c, "# needs a day and a week number, like 3#2");
        if (nth < 1 || nth > 5)
            return ferr(c, "week number %ld after # is outside 1-5", nth);
        e->dow_mode = SCHED_DOW_NTH;
        e->dow_day = (uint8_t)d;
        e->dow_nth = (uint8_t)nth;
        return 0;
    }
    if (dow && n > 1 && t[n - 1] == 'L') { /* "6L"; "L" alone is Saturday, set below */
        if (parse_whole_value(c, c->end - 1, &d))
            return -1;
        e->dow_mode = SCHED_DOW_LAST;
        e->dow_day = (uint8_t)d;
        return 0;
    }
    if (dow && n == 1 && t[0] == 'L')
        set[0] = 1u << 6; /* bit 7-lo: the last day of the week */
    else if (parse_set(c, set))
        return -1;
    switch (idx) {
    case F_MIN: e->minutes = set[0]; break;
    case F_HOUR: e->hours = (uint32_t)set[0]; break;
    case F_DOM: e->dom_mode = SCHED_DOM_SET, e->dom = (uint32_t)(set[0] << 1); break;
    case F_MON: e->months = (uint16_t)(set[0] << 1); break;
    case F_DOW: e->dow_mode = SCHED_DOW_SET, e->dow = (uint8_t)(set[0] << 1); break;
    default: memcpy(e->years, set, sizeof e->years); break;
    }
    return 0;
}

static int parse_cron(const char *body, size_t n, sched_expr_t *e, char *err, size_t err_size)
{
    static const char *const need = "cron needs six fields (minutes hours day-of-month month "
                                    "day-of-week year), got %d";
    if (n == 0)
        return fail(err, err_size, need, 0);
    /* Empty fields first: a trailing space would otherwise just read as "got 7". */
    if (body[0] == ' ' || body[n - 1] == ' ' || memmem(body, n, "  ", 2))
        return fail(err, err_size, "cron: empty field (fields are separated by exactly one space)");
    int nf = 1;
    for (size_t i = 0; i < n; i++)
        nf += body[i] == ' ';
    if (nf != 6)
        return fail(err, err_size, need, nf);
    e->kind = SCHED_CRON;
    const char *p = body, *end = body + n;
    for (int i = 0; i < 6; i++) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        ctx_t c = {&FIELDS[i], p, p, sp ? sp : end, err, err_size};
        if (parse_field(&c, i, e))
            return -1;
        p = c.end + 1;
    }
    if (e->dom_mode == SCHED_DOM_ANY && e->dow_mode == SCHED_DOW_ANY)
        return fail(err, err_size, "cron: day-of-month and day-of-week cannot both be \"?\"");
    if (e->dom_mode != SCHED_DOM_ANY && e->dow_mode != SCHED_DOW_ANY)
        return fail(err, err_size, "cron: one of day-of-month and day-of-week must be \"?\"");
    return 0;
}

#define UNITS "minute(s), hour(s) or day(s)"

/* body is "N unit"; text is the whole expression, quoted in every message. */
static int parse_rate(const char *text, const char *body, size_t n, sched_expr_t *e, char *err,
                      size_t err_size)
{
    static const struct { const char *unit; int64_t secs; } units[] = {
        {"minute", 60}, {"hour", 3600}, {"day", DAY_SECS}};
    size_t i = 0;
    long v = 0;
    if (n == 0)
        return fail(err, err_size, "%s: expected a value and a unit, like rate(5 minutes)", text);
    for (; i < n && isdigit((unsigned char)body[i]); i++)
        if (v <= 1000000)
            v = v * 10 + (body[i] - '0');
    /* "1.5", "-1", "0", " 5": not a positive integer; letters right after it: a missing space */
    if (i == 0 || v == 0 || (i < n && body[i] != ' ' && !isalpha((unsigned char)body[i])))
        return fail(err, err_size, "%s: the value must be a positive integer", text);
    if (body[0] == '0')
        return fail(err, err_size, "%s: the value must not have leading zeros", text);
    if (v > 1000000)
        return fail(err, err_size, "%s: the value must be at most 1000000", text);
    if (i == n || (i + 1 == n && body[i] == ' '))
        return fail(err, err_size, "%s: expected a unit after the value (%s)", text, UNITS);
    if (body[i] != ' ' || body[i + 1] == ' ')
        return fail(err, err_size, "%s: expected exactly one space between the value and the unit",
                    text);
    const char *u = body + i + 1;
    size_t ulen = n - i - 1;
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++) {
        size_t l = strlen(units[k].unit);
        if (strncmp(u, units[k].unit, l) != 0 || (ulen != l && !(ulen == l + 1 && u[l] == 's')))
            continue;
        int plural = ulen != l;
        if (v == 1 && plural)
            return fail(err, err_size, "%s: use \"%s\" when the value is 1", text, units[k].unit);
        if (v != 1 && !plural)
            return fail(err, err_size, "%s: use \"%ss\" when the value is not 1", text,
                        units[k].unit);
        e->kind = SCHED_RATE;
        e->period = v * units[k].secs;
        return 0;
    }
    return fail(err, err_size, "%s: unknown unit \"%.*s\" (use %s)", text, (int)ulen, u, UNITS);
}

int sched_expr_parse(const char *text, sched_expr_t *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    if (err_size)
        err[0] = '\0';
    if (!text)
        return fail(err, err_size, "expression must be rate(...) or cron(...)");
    size_t n = strnlen(text, SCHED_EXPR_MAX_LEN + 1);
    if (n > SCHED_EXPR_MAX_LEN)
        return fail(err, err_size, "expression is longer than %d characters", SCHED_EXPR_MAX_LEN);
    int rate = strncmp(text, "rate(", 5) == 0, cron = strncmp(text, "cron(", 5) == 0;
    if (!rate && !cron)
        return fail(err, err_size, "expression must be rate(...) or cron(...)");
    if (text[n - 1] != ')' || n < 6)
        return fail(err, err_size, "%s(...) must end with \")\"", rate ? "rate" : "cron");
    int rc = rate ? parse_rate(text, text + 5, n - 6, out, err, err_size)
                  : parse_cron(text + 5, n - 6, out, err, err_size);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

/* ---- evaluation ---- */

/* Bitset (bit d = day d) of the days of month m of year y picked by the day fields. */
static uint32_t month_days(const sched_expr_t *e, int y, int m)
{
    int n = days_in_month(y, m);
    int first = (int)((days_from_civil(y, m, 1) + 4) % 7); /* weekday of the 1st, 0 = Sunday */
#define WD(d) ((first + (d) - 1) % 7)
    int d;
    switch (e->dom_mode) {
    case SCHED_DOM_SET: return e->dom & (((1u << n) - 1) << 1);
    case SCHED_DOM_LAST: return 1u << n;
    case SCHED_DOM_LAST_WEEKDAY:
        d = n - (WD(n) == 6) - 2 * (WD(n) == 0);
        return 1u << d;
    case SCHED_DOM_WEEKDAY:
        d = e->dom_day;
        if (d > n)
            return 0; /* e.g. 31W in April: no such day, so no nearest weekday either */
        if (WD(d) == 6) /* Saturday: Friday before, unless that is in the previous month */
            d = d == 1 ? 3 : d - 1;
        else if (WD(d) == 0) /* Sunday: Monday after, unless that is in the next month */
            d = d == n ? d - 2 : d + 1;
        return 1u << d;
    default: break; /* SCHED_DOM_ANY: day-of-week decides */
    }
    uint32_t days = 0;
    switch (e->dow_mode) {
    case SCHED_DOW_SET:
        for (d = 1; d <= n; d++)
            if (e->dow >> (WD(d) + 1) & 1)
                days |= 1u << d;
        return days;
    case SCHED_DOW_LAST: return 1u << (n - (WD(n) - (e->dow_day - 1) + 7) % 7);
    case SCHED_DOW_NTH:
        d = 1 + (e->dow_day - 1 - first + 7) % 7 + 7 * (e->dow_nth - 1);
        return d <= n ? 1u << d : 0;
    default: return 0;
    }
#undef WD
}

/* First matching minute of the day at or after minute `from` (0-1439), or -1. */
static int first_time(const sched_expr_t *e, int from)
{
    for (int h = from / 60; h < 24; h++) {
        if (!(e->hours >> h & 1))
            continue;
        uint64_t ms = e->minutes & (~UINT64_C(0) << (h == from / 60 ? from % 60 : 0));
        if (ms)
            return h * 60 + __builtin_ctzll(ms);
    }
    return -1;
}

static int year_on(const sched_expr_t *e, int y)
{
    int i = y - YEAR_MIN;
    return i >= 0 && y <= YEAR_MAX && (e->years[i / 64] >> (i % 64) & 1);
}

static int64_t next_cron(const sched_expr_t *e, int64_t after)
{
    if (after >= END_SECS - 60)
        return -1;
    /* The first whole minute strictly after `after`; nothing fires before 1970. */
    int64_t t = after < 0 ? 0 : after - after % 60 + 60;
    int y, m, d, from = (int)(t % DAY_SECS / 60);
    civil_from_days(t / DAY_SECS, &y, &m, &d);
    /* Walk months, skipping years and months that are off; within a month only matching days. */
    for (; y <= YEAR_MAX; y++, m = 1, d = 1, from = 0) {
        if (!year_on(e, y))
            continue;
        for (; m <= 12; m++, d = 1, from = 0) {
            if (!(e->months >> m & 1))
                continue;
            uint32_t days = month_days(e, y, m) & (~0u << d);
            for (; days; days &= days - 1) {
                int dd = __builtin_ctz(days);
                int tm = first_time(e, dd == d ? from : 0);
                if (tm >= 0)
                    return days_from_civil(y, m, dd) * DAY_SECS + tm * 60;
            }
        }
    }
    return -1;
}

int64_t sched_expr_next(const sched_expr_t *e, int64_t anchor, int64_t after)
{
    if (e->kind == SCHED_CRON)
        return next_cron(e, after);
    if (e->kind != SCHED_RATE || e->period <= 0)
        return -1;
    int64_t k = 1, diff, off, next;
    if (after >= anchor) {
        if (__builtin_sub_overflow(after, anchor, &diff))
            return -1;
        k = diff / e->period + 1;
    }
    if (__builtin_mul_overflow(k, e->period, &off) || __builtin_add_overflow(anchor, off, &next))
        return -1;
    return next;
}

int sched_expr_matches(const sched_expr_t *e, int64_t anchor, int64_t t)
{
    int64_t diff;
    if (e->kind == SCHED_RATE)
        return e->period > 0 && t > anchor && !__builtin_sub_overflow(t, anchor, &diff) &&
               diff % e->period == 0;
    if (e->kind != SCHED_CRON || t < 0 || t >= END_SECS || t % 60)
        return 0;
    int y, m, d, mins = (int)(t % DAY_SECS / 60);
    civil_from_days(t / DAY_SECS, &y, &m, &d);
    return year_on(e, y) && (e->months >> m & 1) && (month_days(e, y, m) >> d & 1) &&
           (e->hours >> (mins / 60) & 1) && (e->minutes >> (mins % 60) & 1);
}
