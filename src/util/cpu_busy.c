/* How busy the machine's CPUs are (cpu_busy.h). */
#include "util/cpu_busy.h"

#include <stdio.h>
#include <string.h>

/* user nice system idle iowait irq softirq steal of a "cpu ..." line; false
 * for another line. guest time is in user already. */
static bool parse(const char *line, unsigned long long *busy, unsigned long long *total)
{
    unsigned long long v[8] = {0};
    if (strncmp(line, "cpu ", 4) || sscanf(line + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                                           &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 4)
        return false;
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += v[i];
    *busy = *total - v[3] - v[4]; /* (idle and iowait: nothing to run) */
    return true;
}

double cpu_busy_between(const char *before, const char *after)
{
    unsigned long long b0, t0, b1, t1;
    if (!parse(before, &b0, &t0) || !parse(after, &b1, &t1) || t1 <= t0 || b1 < b0)
        return -1;
    double share = (double)(b1 - b0) / (double)(t1 - t0);
    return share > 1 ? 1 : share;
}

static char last_line[256];
static double last_ms = -1e18, last_share = -1;

double cpu_busy_share(double now_ms)
{
    if (now_ms - last_ms < CPU_BUSY_PERIOD_MS)
        return last_share;
    char line[256] = "";
    FILE *f = fopen("/proc/stat", "re");
    if (!f || !fgets(line, sizeof line, f)) {
        if (f)
            fclose(f);
        return last_share = -1;
    }
    fclose(f);
    /* A look long after the last one would average a quiet past into now:
     * it only starts a new period. */
    bool fresh = last_line[0] && now_ms - last_ms <= 4 * CPU_BUSY_PERIOD_MS;
    last_share = fresh ? cpu_busy_between(last_line, line) : -1;
    snprintf(last_line, sizeof last_line, "%s", line);
    last_ms = now_ms;
    return last_share;
}

bool cpu_saturated(double now_ms, double threshold) { return cpu_busy_share(now_ms) >= threshold; }
