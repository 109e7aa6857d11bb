#pragma once
/* Schedules: a function invoked at the times of a rate() or cron()
 * expression (util/schedule_expr.h), each firing a kept Event invocation
 * (events/scheduler.c; docs/api.md, "Schedules"). A firing and the schedule's
 * next time are committed together with the event, so a daemon killed at any
 * moment neither loses a firing nor makes one twice. */
#include <stdbool.h>
#include <stdint.h>

#include "store/events.h"
#include "store/function.h"
#include "store/store.h"

enum { SCHEDULE_ID_MAX = 64, SCHEDULE_EXPR_MAX = 256, SCHEDULES_PER_FUNCTION = 100 };

typedef struct schedule {
    char function[FN_NAME_MAX + 1];
    char id[SCHEDULE_ID_MAX + 1];
    char expression[SCHEDULE_EXPR_MAX + 1];
    char *input;           /* JSON text sent instead of the scheduled event, or NULL */
    bool enabled;
    uint64_t created_at;   /* ms since the epoch; a rate()'s firings count from here */
    uint64_t updated_at;
    uint64_t last_fired_at; /* the time of its last firing (scheduled, not actual); 0: never */
    uint64_t next_at;       /* its next firing; 0: none (disabled, or a cron with no more) */
} schedule_t;

/* Creates or replaces (function, id); *created says which. A new one beyond
 * SCHEDULES_PER_FUNCTION is STORE_REFUSED. */
int store_schedule_put(store_t *s, const schedule_t *sc, bool *created);
/* STORE_NOT_FOUND when there is none. sc->input is malloc'd (free it). */
int store_schedule_get(store_t *s, const char *fn, const char *id, schedule_t *sc);
int store_schedule_delete(store_t *s, const char *fn, const char *id);
/* Every schedule (fn NULL) or a function's, by function and id; sc is
 * valid during the callback only. */
typedef void (*schedule_fn)(const schedule_t *sc, void *arg);
int store_schedules_each(store_t *s, const char *fn, schedule_fn cb, void *arg);
/* One firing: the event kept and the schedule's times moved on, in one
 * transaction (neither, on an error). */
int store_schedule_fired(store_t *s, const char *fn, const char *id, uint64_t fired_at, uint64_t next_at,
                         const store_event_t *ev);
