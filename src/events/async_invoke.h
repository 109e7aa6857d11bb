#pragma once
/* Lambda's Event invocations: no one waits for the answer (async_invoke.c).
 * Each is kept in the store (store/events.h) from before its 202 until it
 * succeeded or finally failed: a daemon killed at any moment runs it after
 * its restart, under the same request id (at least once; twice when it was
 * killed after a success and before its row went). */
#include <event2/buffer.h>
#include <stdint.h>

#include "pool/pool.h"

/* Keeps and invokes fn with event (taken over), under a new request id
 * (written to id); a failed call (function error, crash, timeout,
 * throttle) is tried again as the function's event invoke config says
 * (twice by default, 1 s and then 2 s later), each failure is a line in the
 * function's log, and the end goes to a destination or the dead letters
 * (async_record.h). -1 when it could not be kept (nothing
 * runs: the caller answers with an error, not a 202). */
int api_invoke_async(fn_t *fn, struct evbuffer *event, char id[37]);
/* The same for a record sent to a destination: hops, the destinations it
 * came through (events/async_record.h). */
int api_invoke_async_hop(fn_t *fn, struct evbuffer *event, char id[37], int hops);
/* Runs an event already kept in the store (id, accepted_at: its row's; a
 * schedule keeps its firings with the schedule's times, events/scheduler.c). */
void api_async_run_kept(fn_t *fn, struct evbuffer *event, const char *id, int hops, uint64_t accepted_at);
/* At start: runs every event a previous daemon accepted and did not finish. */
void api_async_resume(void);
/* Drops the retries still waiting (shutdown); their events stay kept. */
void api_drop_retries(void);
