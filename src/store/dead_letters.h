#pragma once
/* A function's dead letters: its Event invocations that failed for good
 * (their retries spent, or too old to try again) with no failure
 * destination to take them. At most DEAD_LETTERS_MAX per function: a new
 * one beyond that drops the oldest, and the drops are counted. Listed,
 * replayed and deleted through the REST API (rest/routes_events.c). */
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

enum { DEAD_LETTERS_MAX = 1000 };

typedef struct dead_letter {
    char id[37];             /* the event's request id */
    const void *event;       /* its payload */
    size_t event_len;
    const char *condition;   /* "RetriesExhausted" or "EventAgeExceeded" */
    const char *error;       /* the last attempt's answer (JSON: errorType, errorMessage, ...) */
    int status;              /* the Invoke API's status of the last attempt (200: the function's error) */
    int attempts;
    uint64_t accepted_at, failed_at; /* ms since the epoch */
    int version;             /* the published version it called; 0: $LATEST */
} dead_letter_t;

/* Keeps l (max: how many the function keeps; the oldest beyond go). */
int store_dead_letter_add(store_t *s, const char *fn, const dead_letter_t *l, int max);
typedef void (*dead_letter_fn)(const dead_letter_t *l, void *arg);
/* fn's letters, oldest first (id NULL), or the one with that id
 * (STORE_NOT_FOUND when none). The letter is valid during the callback. */
int store_dead_letters_each(store_t *s, const char *fn, const char *id, dead_letter_fn cb, void *arg);
/* One letter (id), or all of fn's (id NULL): STORE_NOT_FOUND when none went. */
int store_dead_letters_remove(store_t *s, const char *fn, const char *id);
/* How many letters fn has. */
int store_dead_letters_count(store_t *s, const char *fn);
/* How many of fn's letters were dropped for want of room. */
int64_t store_dead_letters_dropped(store_t *s, const char *fn);
