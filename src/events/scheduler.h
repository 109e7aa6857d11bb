#pragma once
/* Schedules come due here (scheduler.c): each firing becomes a kept Event
 * invocation of its function, with an EventBridge-shaped scheduled event or
 * the schedule's own input (docs/api.md, "Schedules"). */
#include <stdint.h>

/* At start, after the kept events resumed: fires what came due while no
 * daemon ran (at most one catch-up per schedule, logged) and arms the timer. */
void scheduler_start(void);
/* A schedule changed, or the test clock moved: looks again. */
void scheduler_kick(void);
void scheduler_stop(void);
/* The schedules' clock, ms since the epoch: the wall clock, plus the test
 * clock's offset on a daemon started with --clock-offset. Kept events age by
 * it too (async_invoke.c: an event's maximum age). */
uint64_t scheduler_now_ms(void);
