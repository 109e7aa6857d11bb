/* libFuzzer: schedule expressions. Any bytes are parsed; when the parse succeeds, the next firing
 * from a few fixed times must be later than `after`, must match, and no earlier minute within a
 * day of `after` may match (so next really is the first); W/L/# days fall on the right weekday. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/schedule_expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    sched_expr_t e;
    char err[160];
    int rc = sched_expr_parse(text, &e, err, sizeof err);
    free(text);
    if (rc != 0) {
        if (!memchr(err, '\0', sizeof err) || err[0] == '\0')
            abort();
        return 0;
    }
    static const int64_t afters[] = {
        -1,                  /* before the epoch */
        1796515200,          /* 2026-12-06T00:00:00Z */
        1796558399,          /* 2026-12-06T11:59:59Z */
        4107542399,          /* 2100-02-28T23:59:59Z */
        INT64_C(7258117000), /* near the end of 2199 */
    };
    const int64_t anchor = 1796515200 - 7;
    for (size_t i = 0; i < sizeof afters / sizeof afters[0]; i++) {
        int64_t after = afters[i], r = sched_expr_next(&e, anchor, after);
        if (r != -1 && (r <= after || !sched_expr_matches(&e, anchor, r)))
            abort();
        /* Day rules checked without the module's calendar: W, LW fall on Monday-Friday,
         * 6L and 3#2 on their weekday (1970-01-01 was a Thursday). */
        int wd = r >= 0 ? (int)((r / 86400 + 4) % 7) : -1;
        if (r >= 0 && (e.dom_mode == SCHED_DOM_WEEKDAY || e.dom_mode == SCHED_DOM_LAST_WEEKDAY) &&
            (wd == 0 || wd == 6))
            abort();
        if (r >= 0 && (e.dow_mode == SCHED_DOW_LAST || e.dow_mode == SCHED_DOW_NTH) &&
            wd != e.dow_day - 1)
            abort();
        if (e.kind == SCHED_RATE) {
            if (r == -1 || (r - e.period > after && r - e.period > anchor))
                abort();
            continue;
        }
        /* Every whole minute after `after` and before r (up to a day) must not match. */
        int64_t t = after < 0 ? 0 : after - after % 60 + 60;
        for (; (r == -1 || t < r) && t <= after + 86400; t += 60)
            if (sched_expr_matches(&e, anchor, t))
                abort();
    }
    return 0;
}
