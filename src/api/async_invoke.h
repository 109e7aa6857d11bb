#pragma once
/* Lambda's Event invocations: no one waits for the answer (async_invoke.c). */
#include <event2/buffer.h>

#include "pool/pool.h"

/* Invokes fn with event (taken over); a failed call (function error,
 * crash, timeout, throttle) is tried again twice, 1 s and then 2 s later,
 * and each failure is a line in the function's log. */
void api_invoke_async(fn_t *fn, struct evbuffer *event);
/* Drops the retries still pending (shutdown). */
void api_drop_retries(void);
