#pragma once
/* The end of an Event invocation (async_invoke.c): its invocation record,
 * as Lambda's destinations get it, to the function's success or failure
 * destination; a failure with no destination (or one that cannot take it)
 * to the function's dead letters (store/dead_letters.h). */
#include <event2/buffer.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "pool/pool.h"
#include "store/event_config.h"

typedef enum { ASYNC_SUCCESS, ASYNC_RETRIES_SPENT, ASYNC_TOO_OLD } async_condition_t;

/* Records that came through this many destinations are not sent on: a
 * chain of destinations that loops ends there (Lambda stops a recursive
 * loop after 16 calls). */
enum { ASYNC_HOPS_MAX = 16 };

typedef struct async_end {
    fn_t *fn;
    const char *id;              /* the event's request id */
    struct evbuffer *event;      /* its payload */
    int attempts, hops;
    uint64_t accepted_at;
    const invoke_outcome_t *outcome; /* the last attempt's */
} async_end_t;

/* The Lambda Invoke API's status for an outcome: 200 for a result and for
 * the function's and the runtime's errors (X-Amz-Function-Error), else the
 * platform's (429, ...). */
int async_invoke_status(const invoke_outcome_t *o);
/* A payload in a record or a dead letter: its JSON, or the bytes as a
 * string, or {"base64": ...} when they are not UTF-8; null when empty. */
json_t *async_payload_json(const void *data, size_t len);
/* Sends e's record on, or keeps it as a dead letter, as cfg says; each
 * failure is a line in the function's log. false when a failure's end could
 * be neither sent nor kept (the store refused both): the caller then keeps
 * the event itself, to be run again by the next start, rather than lose it.
 * (A success whose record cannot be sent is logged, and done.) */
bool async_end(const async_end_t *e, const event_config_t *cfg, async_condition_t c);
