#pragma once
/* A function's settings for its Event invocations (Lambda's
 * EventInvokeConfig): how many times a failed event is tried again, how long
 * an event may wait, and where the record of its success or final failure
 * goes. One row per function that has any (events/async_invoke.c reads it as
 * each attempt ends, from a cache the store keeps: store_internal.h;
 * docs/lambda.md, "Event invocations"). */
#include <stdbool.h>
#include <stdint.h>

#include "store/function.h"
#include "store/store.h"

enum {
    EVENT_RETRIES_DEFAULT = 2, EVENT_RETRIES_MAX = 2,           /* MaximumRetryAttempts 0-2 */
    EVENT_AGE_MIN_S = 60, EVENT_AGE_DEFAULT_S = 6 * 3600,       /* MaximumEventAgeInSeconds */
    EVENT_AGE_MAX_S = 6 * 3600,
};

typedef struct event_config {
    int max_retry_attempts; /* -1: not set (EVENT_RETRIES_DEFAULT) */
    int max_event_age_s;    /* -1: not set (EVENT_AGE_DEFAULT_S) */
    char on_success[FN_NAME_MAX + 1]; /* a function's name, or "" */
    char on_failure[FN_NAME_MAX + 1];
    uint64_t updated_at; /* ms since the epoch */
} event_config_t;

/* fn's settings: STORE_OK, or STORE_NOT_FOUND (then *c holds the defaults:
 * nothing set). */
int store_event_config_get(store_t *s, const char *fn, event_config_t *c);
int store_event_config_put(store_t *s, const char *fn, const event_config_t *c);
/* STORE_NOT_FOUND when fn had none. */
int store_event_config_delete(store_t *s, const char *fn);
/* Nothing set. */
void event_config_defaults(event_config_t *c);
/* The retries and age in force: the set ones or the defaults. */
int event_config_retries(const event_config_t *c);
int event_config_age_s(const event_config_t *c);
