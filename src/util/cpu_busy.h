#pragma once
/* Is the CPU saturated now? Two measures, each looked at no more often than
 * its period (a look between answers the last; the pool looks every
 * CPU_PRESSURE_PERIOD_MS while calls are in flight; a look long after the
 * last only starts a period):
 * - the busy share over CPU_BUSY_PERIOD_MS, from /proc/stat's per-CPU lines of the CPUs in the
 *   daemon's affinity (a cpuset or taskset narrows it: CPUs it cannot use
 *   are not its to count; a change of the affinity between two looks makes
 *   one share of no meaning): their time not idle since the previous look;
 * - the CPU pressure over CPU_PRESSURE_PERIOD_MS, from /proc/pressure/cpu
 *   (PSI, where the kernel has it): the share of the time since the previous
 *   look in which some task of the machine was runnable and waited for a
 *   CPU. Counted in µs, it is good over a short period; /proc/stat counts
 *   in clock ticks (10 ms), which a short period would cut to 0, 1/2 or 1.
 * Saturated: busy CPU_SATURATED_BUSY or more, or pressure
 * CPU_SATURATED_PRESSURE or more. The pressure is what shows it when calls
 * ping-pong between the daemon and instances: each waits for the other in
 * turn, which leaves the CPUs idle part of the time while the instances
 * queue for them (bench/saturation.py, 8 connections and 8 instances on 2
 * cores, per 50 ms: busy 0.56 min, 1.00 median; pressure 0.32 min, 0.88
 * median; at 1 and 2 connections the pressure was 0.10 at most).
 * The scheduler asks it before it adds an instance to busy ones: an
 * instance more on saturated cores runs no call sooner, it only adds
 * switching (pool/invocation.c, docs/operations.md "Scaling up"). */
#include <sched.h>
#include <stdbool.h>

enum { CPU_BUSY_PERIOD_MS = 50, CPU_PRESSURE_PERIOD_MS = 10 };
#define CPU_SATURATED_BUSY 0.95
#define CPU_SATURATED_PRESSURE 0.3

/* The busy share (0 to 1) over the last period, or -1 when /proc/stat
 * cannot be read or at the first look after a quiet time. now_ms: a
 * monotonic clock in ms. */
double cpu_busy_share(double now_ms);
/* Saturated over the last periods: 1 yes, 0 no, -1 not known (neither
 * measure has a value: the first look after a quiet time, or neither file
 * can be read). */
int cpu_saturated(double now_ms);
/* (tests) the same from a busy share and a pressure (-1: none). */
int cpu_saturated_by(double busy, double pressure);
/* The CPU pressure (0 to 1) over the last period, or -1 (no PSI, or the
 * first look after a quiet time). */
double cpu_pressure_share(double now_ms);
/* When the look that gave the latest known value was made (now_ms's
 * clock); long ago when none is known. */
double cpu_last_look_ms(void);
/* (tests) the share from two readings of /proc/stat's text, of the CPUs
 * in `cpus` (their "cpuN" lines); -1 when none of them has a line in both,
 * or no time passed. */
double cpu_busy_between(const char *before, const char *after, const cpu_set_t *cpus);
/* (tests) N of the "some ... total=N" line that begins /proc/pressure/cpu's
 * text (µs some task waited for a CPU), or -1. */
long long cpu_pressure_total(const char *text);
