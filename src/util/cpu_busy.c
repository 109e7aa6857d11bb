/* How busy the CPUs the daemon may run on are, and how contended the
 * machine's CPU is (cpu_busy.h). */
#include "util/cpu_busy.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *next_line(const char *s)
{
    const char *nl = strchr(s, '\n');
    return nl && nl[1] ? nl + 1 : NULL;
}

/* The busy and total time of the CPUs in `cpus`, summed over their "cpuN
 * user nice system idle iowait irq softirq steal" lines of /proc/stat's
 * text; false when none is there. guest time is in user already. The "cpu"
 * lines come first: the rest (the long "intr" line) is not read. */
static bool sum(const char *text, const cpu_set_t *cpus, unsigned long long *busy, unsigned long long *total)
{
    bool any = false;
    *busy = *total = 0;
    for (const char *line = text; line && !strncmp(line, "cpu", 3); line = next_line(line)) {
        char *end;
        if (line[3] < '0' || line[3] > '9')
            continue; /* (the aggregate "cpu " line) */
        unsigned long n = strtoul(line + 3, &end, 10);
        if (n >= CPU_SETSIZE || !CPU_ISSET(n, cpus))
            continue;
        unsigned long long v[8] = {0};
        int fields = 0;
        for (const char *p = end; fields < 8; fields++) {
            while (*p == ' ')
                p++;
            if (*p < '0' || *p > '9')
                break;
            v[fields] = strtoull(p, &end, 10);
            p = end;
        }
        if (fields < 4)
            continue;
        unsigned long long t = 0;
        for (int i = 0; i < 8; i++)
            t += v[i];
        *total += t;
        *busy += t - v[3] - v[4]; /* (idle and iowait: nothing to run) */
        any = true;
    }
    return any;
}

static double share_of(unsigned long long b0, unsigned long long t0, unsigned long long b1, unsigned long long t1)
{
    if (t1 <= t0 || b1 < b0)
        return -1;
    double share = (double)(b1 - b0) / (double)(t1 - t0);
    return share > 1 ? 1 : share;
}

double cpu_busy_between(const char *before, const char *after, const cpu_set_t *cpus)
{
    unsigned long long b0, t0, b1, t1;
    if (!sum(before, cpus, &b0, &t0) || !sum(after, cpus, &b1, &t1))
        return -1;
    return share_of(b0, t0, b1, t1);
}

static unsigned long long last_busy, last_total;
static bool have_last;
static double last_ms = -1e18, last_share = -1;

/* A /proc file's text, NUL-terminated (at most size - 1 bytes); its length,
 * or -1 when it cannot be read. */
static ssize_t read_text(const char *path, char *text, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, text, size - 1);
    if (fd >= 0)
        close(fd);
    text[n > 0 ? n : 0] = 0;
    return n;
}

long long cpu_pressure_total(const char *text)
{
    if (strncmp(text, "some ", 5))
        return -1;
    const char *t = strstr(text, " total=");
    const char *nl = strchr(text, '\n');
    if (!t || (nl && t > nl))
        return -1;
    char *end;
    long long v = strtoll(t + 7, &end, 10);
    return end == t + 7 || v < 0 ? -1 : v;
}

double cpu_busy_share(double now_ms)
{
    if (now_ms - last_ms < CPU_BUSY_PERIOD_MS)
        return last_share;
    /* (a machine of some hundred CPUs fills it: the CPUs whose lines come
     * beyond are not counted) */
    static char text[32768];
    cpu_set_t cpus;
    unsigned long long busy, total;
    ssize_t n = read_text("/proc/stat", text, sizeof text);
    char *last = n == (ssize_t)sizeof text - 1 ? strrchr(text, '\n') : NULL;
    if (last) /* (a full buffer: its cut last line is not counted) */
        last[1] = 0;
    if (n <= 0 || sched_getaffinity(0, sizeof cpus, &cpus) < 0 || !sum(text, &cpus, &busy, &total)) {
        have_last = false;
        return last_share = -1;
    }
    /* A look long after the last one would average a quiet past into now:
     * it only starts a new period. */
    bool fresh = have_last && now_ms - last_ms <= 4 * CPU_BUSY_PERIOD_MS;
    last_share = fresh ? share_of(last_busy, last_total, busy, total) : -1;
    last_busy = busy;
    last_total = total;
    have_last = true;
    last_ms = now_ms;
    return last_share;
}

static long long last_stall_us = -1; /* "some" total at the last look; -1: none */
static double stall_ms = -1e18, last_pressure = -1;

double cpu_pressure_share(double now_ms)
{
    if (now_ms - stall_ms < CPU_PRESSURE_PERIOD_MS)
        return last_pressure;
    char text[256];
    read_text("/proc/pressure/cpu", text, sizeof text);
    long long stall = cpu_pressure_total(text);
    if (stall < 0) { /* no PSI here (or it is off): never a pressure; tried again a period on */
        last_stall_us = -1;
        stall_ms = now_ms;
        return last_pressure = -1;
    }
    bool fresh = last_stall_us >= 0 && stall >= last_stall_us && now_ms - stall_ms <= 4 * CPU_PRESSURE_PERIOD_MS &&
                 now_ms > stall_ms;
    last_pressure = fresh ? (double)(stall - last_stall_us) / ((now_ms - stall_ms) * 1000) : -1;
    last_stall_us = stall;
    stall_ms = now_ms;
    return last_pressure;
}

int cpu_saturated_by(double busy, double pressure)
{
    if (busy >= CPU_SATURATED_BUSY || pressure >= CPU_SATURATED_PRESSURE)
        return 1;
    return busy < 0 && pressure < 0 ? -1 : 0;
}

int cpu_saturated(double now_ms)
{
    return cpu_saturated_by(cpu_busy_share(now_ms), cpu_pressure_share(now_ms));
}

double cpu_last_look_ms(void)
{
    double t = last_share >= 0 ? last_ms : -1e18;
    return last_pressure >= 0 && stall_ms > t ? stall_ms : t;
}
