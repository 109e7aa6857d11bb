/* Where an Event invocation's end goes (async_record.h), and the record
 * Lambda's destinations get:
 *   {"version": "1.0", "timestamp": ...,
 *    "requestContext": {"requestId", "functionArn", "condition", "approximateInvokeCount"},
 *    "requestPayload": the event, "responseContext": {"statusCode", "executedVersion"[, "functionError"]},
 *    "responsePayload": the last answer}
 * delivered to the destination function as an Event invocation of its own
 * (kept, tried again, with destinations of its own). docs/lambda.md. */
#include "events/async_record.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/async_invoke.h"
#include "api/lambda_shape.h"
#include "pool/daemon.h"
#include "store/dead_letters.h"
#include "util/base64.h"
#include "util/log.h"
#include "util/util.h"

static const char *const CONDITION[] = {"Success", "RetriesExhausted", "EventAgeExceeded"};

int async_invoke_status(const invoke_outcome_t *o)
{
    return o->kind != OUTCOME_ERROR || o->status == 500 || o->status == 502 || o->status == 504 ? 200 : o->status;
}

json_t *async_payload_json(const void *data, size_t len)
{
    if (!len)
        return json_null();
    json_t *j = json_loadb(data, len, JSON_DECODE_ANY, NULL);
    if (!j)
        j = json_stringn(data, len);
    if (!j) { /* not UTF-8: JSON cannot carry it as a string */
        char *b64 = malloc(4 * (len / 3 + 1) + 1);
        if (b64)
            b64[base64_encode(data, len, b64)] = '\0';
        j = b64 ? json_pack("{s:s}", "base64", b64) : NULL;
        free(b64);
    }
    return j ? j : json_null();
}

/* What the last attempt answered: the result, the function's error, or the
 * platform's as Lambda words it. */
static json_t *response_payload(const invoke_outcome_t *o)
{
    if (o->kind != OUTCOME_ERROR)
        return async_payload_json(o->body, o->len);
    json_t *j = json_pack("{s:s, s:s}", "errorType", o->error_type ? o->error_type : "ServiceException",
                          "errorMessage", o->message ? o->message : "");
    if (j && o->stack)
        json_object_set(j, "stackTrace", o->stack);
    return j;
}

static json_t *record(const async_end_t *e, async_condition_t c)
{
    char now[32], arn[LAMBDA_ARN_MAX];
    iso8601(now, now_ms());
    char version[16] = "$LATEST";
    if (fn_published(e->fn))
        snprintf(version, sizeof version, "%d", fn_published(e->fn));
    lambda_function_arn(arn, fn_cfg(e->fn)->name, version);
    size_t len = evbuffer_get_length(e->event);
    const invoke_outcome_t *o = e->outcome;
    json_t *response = json_pack("{s:i, s:s}", "statusCode", async_invoke_status(o), "executedVersion", version);
    if (response && c != ASYNC_SUCCESS && async_invoke_status(o) == 200)
        json_object_set_new(response, "functionError", json_string("Unhandled"));
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:i}, s:o, s:o*, s:o}", "version", "1.0", "timestamp", now,
                     "requestContext", "requestId", e->id, "functionArn", arn, "condition", CONDITION[c],
                     "approximateInvokeCount", e->attempts, "requestPayload",
                     async_payload_json(len ? evbuffer_pullup(e->event, -1) : NULL, len), "responseContext", response,
                     "responsePayload", response_payload(o));
}

static void log_end(fn_t *fn, const async_end_t *e, async_condition_t c, const char *where)
{
    char line[600];
    int k = snprintf(line, sizeof line, "[impuls] async invocation %s %s (HTTP %d) after %d attempt%s%s; %s\n", e->id,
                     c == ASYNC_SUCCESS ? "succeeded" : "failed", async_invoke_status(e->outcome), e->attempts,
                     e->attempts == 1 ? "" : "s", c == ASYNC_TOO_OLD ? ", older than its maximum event age" : "",
                     where);
    fn_log_write(fn, line, (size_t)(k < (int)sizeof line ? k : (int)sizeof line - 1));
}

static bool keep_letter(const async_end_t *e, async_condition_t c, const char *why)
{
    json_t *answer = response_payload(e->outcome);
    char *error = answer ? json_dumps(answer, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(answer);
    size_t len = evbuffer_get_length(e->event);
    dead_letter_t l = {.event = len ? evbuffer_pullup(e->event, -1) : NULL, .event_len = len,
                       .condition = CONDITION[c], .error = error, .status = async_invoke_status(e->outcome),
                       .attempts = e->attempts, .accepted_at = e->accepted_at, .failed_at = now_ms(),
                       .version = fn_published(e->fn)};
    snprintf(l.id, sizeof l.id, "%s", e->id);
    char where[400];
    bool kept = store_dead_letter_add(D->store, fn_cfg(e->fn)->name, &l, DEAD_LETTERS_MAX) == STORE_OK;
    if (kept)
        snprintf(where, sizeof where, "%skept as a dead letter", why);
    else
        snprintf(where, sizeof where, "%sand it could not be kept as a dead letter (%s): the event stays, for the "
                                      "next start to run again", why, store_last_error(D->store));
    free(error);
    log_end(e->fn, e, c, where);
    if (!kept) /* (the function's log may be on the same full disk) */
        log_error("async invocation %s of %s: %s", e->id, fn_cfg(e->fn)->name, where);
    return kept;
}

/* The record to the destination as an Event invocation of its own: 0, or
 * -1 with why (then the caller keeps the letter). */
static int send_record(const async_end_t *e, async_condition_t c, const char *dest, char *why, size_t whylen)
{
    fn_t *to = registry_find(dest);
    if (!to) {
        snprintf(why, whylen, "its destination %s does not exist; ", dest);
        return -1;
    }
    if (e->hops >= ASYNC_HOPS_MAX) {
        snprintf(why, whylen, "not sent to %s: it came through %d destinations already (a loop?); ", dest, e->hops);
        return -1;
    }
    json_t *r = record(e, c);
    char *text = r ? json_dumps(r, JSON_COMPACT) : NULL;
    json_decref(r);
    struct evbuffer *body = text ? evbuffer_new() : NULL;
    if (body && evbuffer_add(body, text, strlen(text)) < 0) {
        evbuffer_free(body);
        body = NULL;
    }
    free(text);
    char id[37];
    if (!body || api_invoke_async_hop(to, body, id, e->hops + 1) < 0) { /* (it takes body over) */
        snprintf(why, whylen, "its record could not be kept for %s; ", dest);
        return -1;
    }
    if (c != ASYNC_SUCCESS) {
        char where[200];
        snprintf(where, sizeof where, "its record went to %s (request %s)", dest, id);
        log_end(e->fn, e, c, where);
    }
    return 0;
}

bool async_end(const async_end_t *e, const event_config_t *cfg, async_condition_t c)
{
    const char *dest = c == ASYNC_SUCCESS ? cfg->on_success : cfg->on_failure;
    char why[300] = "";
    if (*dest && send_record(e, c, dest, why, sizeof why) == 0)
        return true;
    if (c != ASYNC_SUCCESS)
        return keep_letter(e, c, why);
    if (*why)
        log_end(e->fn, e, c, why);
    return true;
}
