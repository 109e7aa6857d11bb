#pragma once
/* Are the CPUs the daemon may run on saturated now? From /proc/stat's
 * per-CPU lines of the CPUs in the daemon's affinity (a cpuset or taskset
 * narrows it: CPUs it cannot use are not its to count): the share of their
 * time not idle since the previous look, looked at no more than every
 * CPU_BUSY_PERIOD_MS (a look between answers the last; the pool looks every
 * period while calls are in flight; a change of the affinity between two
 * looks makes one share of no meaning). The scheduler asks it before it adds
 * an instance to busy ones: an instance more on saturated cores runs no
 * call sooner, it only adds switching (pool/invocation.c, docs/operations.md
 * "Scaling up"). */
#include <sched.h>
#include <stdbool.h>

enum { CPU_BUSY_PERIOD_MS = 50 };

/* The busy share (0 to 1) over the last period, or -1 when /proc/stat
 * cannot be read (then nothing counts as saturated). now_ms: a monotonic
 * clock in ms. */
double cpu_busy_share(double now_ms);
/* Busy at least `threshold` (0 to 1) over the last period. */
bool cpu_saturated(double now_ms, double threshold);
/* (tests) the share from two readings of /proc/stat's text, of the CPUs
 * in `cpus` (their "cpuN" lines); -1 when none of them has a line in both,
 * or no time passed. */
double cpu_busy_between(const char *before, const char *after, const cpu_set_t *cpus);
