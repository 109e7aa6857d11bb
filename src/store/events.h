#pragma once
/* Accepted Event invocations (Lambda's InvocationType Event), kept until
 * they succeeded or finally failed, so that a daemon killed at any moment
 * runs each of them after its restart (events/async_invoke.c). A row is
 * committed before the 202 is sent; the database runs in WAL mode with
 * synchronous=NORMAL, so a commit survives the daemon's death (kill -9),
 * not the machine's (docs/lambda.md, "Event invocations"). */
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

enum { STORE_EVENT_ID_LEN = 36 };

typedef struct store_event {
    const char *id, *function;
    const void *event;
    size_t len;
    int attempts;         /* made so far, for the next start to go on from */
    int hops;             /* destinations it came through (a record of another event's end): 0 for a caller's */
    int version;          /* the published version it calls; 0: $LATEST (store/versions.h) */
    uint64_t accepted_at; /* ms since the epoch */
} store_event_t;

int store_event_add(store_t *s, const store_event_t *e);
int store_event_attempted(store_t *s, const char *id, int attempts);
int store_event_remove(store_t *s, const char *id);
/* Every kept event, oldest first; e is valid during the callback. */
typedef void (*store_event_fn)(const store_event_t *e, void *arg);
int store_events_load(store_t *s, store_event_fn cb, void *arg);
int store_events_count(store_t *s);
/* A function's kept events: how many, and when the oldest was accepted (0: none). */
int store_events_of(store_t *s, const char *function, int *count, uint64_t *oldest);
