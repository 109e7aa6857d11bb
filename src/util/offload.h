#pragma once
/* Slow work off the event loop: a small pool of worker threads runs `work`,
 * then `done` runs on the loop. Work must not touch loop-owned state. */
#include <event2/event.h>

typedef void (*offload_fn)(void *arg);

int offload_init(struct event_base *base, int threads);
/* Queues a job; returns 0, or -1 when the pool could not take it. */
int offload_run(offload_fn work, offload_fn done, void *arg);
void offload_shutdown(void);
