/* A function's Event invocations, as settings and leftovers:
 *   - its event invoke config (store/event_config.h): the REST API's
 *     /api/v1/functions/{name}/event-invoke-config (GET, PUT, DELETE) and
 *     Lambda's Put/Update/Get/Delete/ListFunctionEventInvokeConfig(s)
 *     (/2019-09-25/functions/{name}/event-invoke-config[/list]);
 *   - its dead letters (store/dead_letters.h): listed, replayed (each as a
 *     new Event invocation) and deleted under
 *     /api/v1/functions/{name}/dead-letters.
 * docs/api.md and docs/lambda.md, "Event invocations". */
#include <event2/buffer.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "rest/rest.h"
#include "events/async_invoke.h"
#include "events/async_record.h"
#include "api/lambda_shape.h"
#include "api/qualifier.h"
#include "http/http_util.h"
#include "pool/pool.h"
#include "store/dead_letters.h"
#include "store/event_config.h"
#include "store/events.h"
#include "util/util.h"

/* ---- the settings, in either API's fields ---- */

/* A destination: a function of ours other than fn, by name (REST) or by
 * ARN (Lambda: a function's, any other kind of ARN is refused). */
static int take_destination(json_t *v, const char *what, const char *fn, bool lambda, char out[FN_NAME_MAX + 1],
                            char *err, size_t errlen)
{
    out[0] = '\0';
    if (!v || json_is_null(v))
        return 0;
    const char *given = json_string_value(v);
    if (!given) {
        snprintf(err, errlen, "%s must be a string", what);
        return -1;
    }
    if (lambda && strncmp(given, "arn:aws:lambda:", 15)) {
        snprintf(err, errlen, "The destination %.200s is not a Lambda function's ARN: Impuls sends records to its "
                              "own functions only", given);
        return -1;
    }
    bool named = lambda ? lambda_function_name(given, out) : strlen(given) <= FN_NAME_MAX;
    if (named && !lambda)
        snprintf(out, FN_NAME_MAX + 1, "%s", given);
    if (!named || !registry_find(out)) {
        snprintf(err, errlen, "The destination function %.200s does not exist", given);
        return -1;
    }
    if (!strcmp(out, fn)) {
        snprintf(err, errlen, "You can't specify the function itself as a destination");
        return -1;
    }
    return 0;
}

/* An integer field in [lo, hi], left as it is when absent. */
static int take_int(json_t *v, const char *what, bool lambda, int lo, int hi, int *out, char *err, size_t errlen)
{
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        if (lambda && json_is_integer(v))
            snprintf(err, errlen, "1 validation error detected: Value '%lld' at '%s' failed to satisfy constraint: "
                                  "Member must have value %s than or equal to %d", (long long)json_integer_value(v),
                     what, json_integer_value(v) < lo ? "greater" : "less", json_integer_value(v) < lo ? lo : hi);
        else
            snprintf(err, errlen, "%s must be an integer from %d to %d", what, lo, hi);
        return -1;
    }
    *out = (int)json_integer_value(v);
    return 0;
}

/* Lambda's DestinationConfig: {"OnSuccess": {"Destination": ARN}, "OnFailure": {...}}. */
static json_t *lambda_destination(json_t *body, const char *which)
{
    return json_object_get(json_object_get(json_object_get(body, "DestinationConfig"), which), "Destination");
}

/* The fields of body over c (a replace starts from the defaults, an
 * update from what is set): 0, or -1 with err. (A destination is any
 * function: setting one takes a deploy token, and tokens limited to some
 * functions are invoke and read tokens only.) */
static int parse_config(json_t *body, const char *fn, bool lambda, event_config_t *c, char *err, size_t errlen)
{
    static const char *const REST[] = {"max_retry_attempts", "max_event_age_s", "on_success", "on_failure"};
    static const char *const LAMBDA[] = {"MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig",
                                         "FunctionName", "Qualifier"};
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        bool known = false;
        for (size_t i = 0; i < (lambda ? 5 : 4); i++)
            known = known || !strcmp(key, lambda ? LAMBDA[i] : REST[i]);
        if (!known) {
            snprintf(err, errlen, "unknown field %.100s (the fields: %s)", key,
                     lambda ? "MaximumRetryAttempts, MaximumEventAgeInSeconds, DestinationConfig"
                            : "max_retry_attempts, max_event_age_s, on_success, on_failure");
            return -1;
        }
    }
    json_t *dest = json_object_get(body, "DestinationConfig");
    if (lambda && dest && !json_is_object(dest)) {
        snprintf(err, errlen, "DestinationConfig must be an object");
        return -1;
    }
    if (take_int(json_object_get(body, lambda ? LAMBDA[0] : REST[0]), lambda ? "maximumRetryAttempts" : REST[0],
                 lambda, 0, EVENT_RETRIES_MAX, &c->max_retry_attempts, err, errlen) < 0 ||
        take_int(json_object_get(body, lambda ? LAMBDA[1] : REST[1]), lambda ? "maximumEventAgeInSeconds" : REST[1],
                 lambda, EVENT_AGE_MIN_S, EVENT_AGE_MAX_S, &c->max_event_age_s, err, errlen) < 0)
        return -1;
    json_t *ok = lambda ? lambda_destination(body, "OnSuccess") : json_object_get(body, "on_success");
    json_t *bad = lambda ? lambda_destination(body, "OnFailure") : json_object_get(body, "on_failure");
    bool ok_given = lambda ? json_object_get(dest, "OnSuccess") != NULL : json_object_get(body, "on_success") != NULL;
    bool bad_given = lambda ? json_object_get(dest, "OnFailure") != NULL : json_object_get(body, "on_failure") != NULL;
    int rc = ok_given ? take_destination(ok, lambda ? "OnSuccess.Destination" : "on_success", fn, lambda,
                                         c->on_success, err, errlen) : 0;
    if (rc == 0 && bad_given)
        rc = take_destination(bad, lambda ? "OnFailure.Destination" : "on_failure", fn, lambda, c->on_failure, err,
                              errlen);
    return rc;
}

static json_t *rest_view(const event_config_t *c, bool set)
{
    char at[32];
    if (set)
        iso8601(at, c->updated_at);
    return json_pack("{s:i, s:i, s:s?, s:s?, s:s?}", "max_retry_attempts", event_config_retries(c), "max_event_age_s",
                     event_config_age_s(c), "on_success", c->on_success[0] ? c->on_success : NULL, "on_failure",
                     c->on_failure[0] ? c->on_failure : NULL, "updated_at", set ? at : NULL);
}

static json_t *lambda_destination_view(const char *fn)
{
    if (!*fn)
        return json_object();
    char arn[LAMBDA_ARN_MAX];
    lambda_function_arn(arn, fn, NULL);
    return json_pack("{s:s}", "Destination", arn);
}

static json_t *lambda_view(const char *fn, const event_config_t *c)
{
    char arn[LAMBDA_ARN_MAX];
    lambda_function_arn(arn, fn, "$LATEST");
    json_t *j = json_pack("{s:f, s:s, s:{s:o, s:o}}", "LastModified", (double)c->updated_at / 1000.0, "FunctionArn",
                          arn, "DestinationConfig", "OnSuccess", lambda_destination_view(c->on_success), "OnFailure",
                          lambda_destination_view(c->on_failure));
    if (j && c->max_retry_attempts >= 0)
        json_object_set_new(j, "MaximumRetryAttempts", json_integer(c->max_retry_attempts));
    if (j && c->max_event_age_s >= 0)
        json_object_set_new(j, "MaximumEventAgeInSeconds", json_integer(c->max_event_age_s));
    return j;
}

enum config_op { CONFIG_GET, CONFIG_PUT, CONFIG_UPDATE, CONFIG_DELETE, CONFIG_LIST };

static void event_config(struct evhttp_request *req, fn_t *fn, enum config_op op, bool lambda)
{
    const char *name = fn_cfg(fn)->name;
    event_config_t c;
    int got = store_event_config_get(D->store, name, &c);
    if (got == STORE_ERR)
        return http_error(req, 500, "StorageException", "%s", store_last_error(D->store));
    if (op == CONFIG_DELETE) {
        if (store_event_config_delete(D->store, name) == STORE_ERR)
            return http_error(req, 500, "StorageException", "%s", store_last_error(D->store));
        return http_send(req, 204, NULL, 0);
    }
    if (op == CONFIG_LIST)
        return http_json(req, 200, json_pack("{s:o}", "FunctionEventInvokeConfigs",
                                             got == STORE_OK ? json_pack("[o]", lambda_view(name, &c)) : json_array()));
    if (op == CONFIG_GET) {
        if (lambda && got == STORE_NOT_FOUND)
            return http_error(req, 404, "ResourceNotFoundException",
                              "The function " LAMBDA_FUNCTION_ARN_PREFIX "%s:$LATEST doesn't have an EventInvokeConfig",
                              name);
        return http_json(req, 200, lambda ? lambda_view(name, &c) : rest_view(&c, got == STORE_OK));
    }
    json_t *body = api_json_object_body(req);
    if (!body)
        return;
    event_config_t next = c;
    if (op == CONFIG_PUT) /* a replace: what is not given is not set */
        event_config_defaults(&next);
    char err[400];
    int rc = parse_config(body, name, lambda, &next, err, sizeof err);
    json_decref(body);
    if (rc < 0)
        return http_error(req, 400, "InvalidParameterValueException", "%s", err);
    next.updated_at = now_ms();
    if (store_event_config_put(D->store, name, &next) != STORE_OK)
        return http_error(req, 500, "StorageException", "%s", store_last_error(D->store));
    http_json(req, 200, lambda ? lambda_view(name, &next) : rest_view(&next, true));
}

static const enum config_op REST_OPS[] = {
    [ROUTE_FN_EVENT_CONFIG_GET] = CONFIG_GET, [ROUTE_FN_EVENT_CONFIG_PUT] = CONFIG_PUT,
    [ROUTE_FN_EVENT_CONFIG_DELETE] = CONFIG_DELETE};

void api_event_config(struct evhttp_request *req, const char *name, enum route_id id)
{
    fn_t *fn = registry_find(name);
    if (!fn)
        return api_not_found(req, name);
    event_config(req, fn, REST_OPS[id], false);
}

void lambda_event_config(struct evhttp_request *req, const char *name, enum route_id id)
{
    fn_t *fn = lambda_find(req, name);
    if (!fn)
        return;
    enum config_op op = id == ROUTE_L_EVENT_CONFIG_GET      ? CONFIG_GET
                        : id == ROUTE_L_EVENT_CONFIG_PUT    ? CONFIG_PUT
                        : id == ROUTE_L_EVENT_CONFIG_UPDATE ? CONFIG_UPDATE
                        : id == ROUTE_L_EVENT_CONFIG_DELETE ? CONFIG_DELETE
                                                            : CONFIG_LIST;
    event_config(req, fn, op, true);
}

/* ---- figures ---- */

json_t *api_event_figures(const char *name)
{
    int queued = 0;
    uint64_t oldest = 0;
    store_events_of(D->store, name, &queued, &oldest);
    uint64_t now = now_ms();
    json_t *age = oldest ? json_integer((json_int_t)(now > oldest ? now - oldest : 0)) : json_null();
    return json_pack("{s:i, s:o, s:i, s:I}", "queued", queued, "oldest_age_ms", age, "dead_letters",
                     store_dead_letters_count(D->store, name), "dropped",
                     (json_int_t)store_dead_letters_dropped(D->store, name));
}

/* ---- dead letters ---- */

static void add_letter(const dead_letter_t *l, void *arg)
{
    char accepted[32], failed[32];
    iso8601(accepted, l->accepted_at);
    iso8601(failed, l->failed_at);
    json_t *error = l->error && *l->error ? json_loads(l->error, JSON_DECODE_ANY, NULL) : NULL;
    json_array_append_new(arg, json_pack("{s:s, s:s, s:i, s:i, s:o, s:o, s:s, s:s}", "id", l->id, "condition",
                                         l->condition ? l->condition : "", "attempts", l->attempts, "status",
                                         l->status, "error", error ? error : json_null(), "event",
                                         async_payload_json(l->event, l->event_len), "accepted_at", accepted, "failed_at",
                                         failed));
}

void api_dead_letters(struct evhttp_request *req, const char *name, const char *id)
{
    fn_t *fn = registry_find(name);
    if (!fn)
        return api_not_found(req, name);
    json_t *list = json_array();
    int rc = store_dead_letters_each(D->store, name, *id ? id : NULL, add_letter, list);
    if (rc != STORE_OK) {
        json_decref(list);
        if (rc == STORE_NOT_FOUND)
            return http_error(req, 404, "ResourceNotFoundException", "function '%s' has no dead letter '%.64s'",
                              name, id);
        return http_error(req, 500, "StorageException", "%s", store_last_error(D->store));
    }
    if (*id) {
        json_t *one = json_incref(json_array_get(list, 0));
        json_decref(list);
        return http_json(req, 200, one);
    }
    http_json(req, 200, json_pack("{s:o, s:I, s:i}", "dead_letters", list, "dropped",
                                  (json_int_t)store_dead_letters_dropped(D->store, name), "max", DEAD_LETTERS_MAX));
}

void api_dead_letters_delete(struct evhttp_request *req, const char *name, const char *id)
{
    fn_t *fn = registry_find(name);
    if (!fn)
        return api_not_found(req, name);
    int rc = store_dead_letters_remove(D->store, name, *id ? id : NULL);
    if (rc == STORE_ERR)
        return http_error(req, 500, "StorageException", "%s", store_last_error(D->store));
    if (rc == STORE_NOT_FOUND && *id)
        return http_error(req, 404, "ResourceNotFoundException", "function '%s' has no dead letter '%.64s'", name,
                          id);
    http_send(req, 204, NULL, 0);
}

/* Each letter's event accepted again as a new Event invocation, then the
 * letter removed: a failure between the two runs it twice, never loses it.
 * The letters are read first, the events accepted after: an event that
 * fails at once may make a new letter, which a scan still open would read
 * and replay in turn. */
typedef struct letter_copy {
    char id[37];
    int version; /* the published version it called (replayed on it); 0: $LATEST */
    size_t len;
    unsigned char *event;
} letter_copy_t;

typedef struct letters {
    letter_copy_t *v;
    size_t n, cap;
    bool short_of_memory;
} letters_t;

static void copy_letter(const dead_letter_t *l, void *arg)
{
    letters_t *ls = arg;
    if (ls->n == ls->cap) {
        size_t cap = ls->cap ? 2 * ls->cap : 16;
        letter_copy_t *more = realloc(ls->v, cap * sizeof *more);
        if (!more) {
            ls->short_of_memory = true;
            return;
        }
        ls->v = more;
        ls->cap = cap;
    }
    letter_copy_t *c = &ls->v[ls->n];
    c->event = malloc(l->event_len ? l->event_len : 1);
    if (!c->event) {
        ls->short_of_memory = true;
        return;
    }
    memcpy(c->event, l->event_len ? l->event : "", l->event_len);
    c->len = l->event_len;
    c->version = l->version;
    snprintf(c->id, sizeof c->id, "%s", l->id);
    ls->n++;
}

void api_dead_letters_replay(struct evhttp_request *req, const char *name, const char *id)
{
    fn_t *fn = registry_find(name);
    if (!fn)
        return api_not_found(req, name);
    if (D->draining)
        return http_error(req, 503, "ServiceUnavailable", "the daemon is shutting down");
    letters_t ls = {0};
    int rc = store_dead_letters_each(D->store, name, *id ? id : NULL, copy_letter, &ls);
    json_t *ids = json_array();
    char err[300] = "";
    int status = 500; /* of err: 409 for a letter whose version is gone (it stays) */
    if (ls.short_of_memory)
        snprintf(err, sizeof err, "out of memory");
    for (size_t i = 0; i < ls.n; i++) {
        struct evbuffer *event = err[0] ? NULL : evbuffer_new();
        char new_id[37];
        if (event && evbuffer_add(event, ls.v[i].event, ls.v[i].len) < 0) {
            evbuffer_free(event);
            event = NULL;
        }
        resolved_t r; /* (a letter of a published version is replayed on it, while it is there) */
        fn_t *to = event && ls.v[i].version ? qualifier_version(name, ls.v[i].version, &r) : fn;
        if (!to && event) {
            evbuffer_free(event);
            event = NULL;
            if (r.status == 404) {
                status = 409;
                snprintf(err, sizeof err, "dead letter %s called version %d, which is deleted: it stays (delete it "
                         "to drop it)", ls.v[i].id, ls.v[i].version);
            } else { /* the store could not say: the letter stays too */
                snprintf(err, sizeof err, "dead letter %s: %s", ls.v[i].id, r.message);
            }
        }
        if (!err[0] && !event)
            snprintf(err, sizeof err, "out of memory");
        else if (event && api_invoke_async(to, event, new_id) < 0) /* (it takes event over) */
            snprintf(err, sizeof err, "the event could not be kept: %s", store_last_error(D->store));
        else if (event) {
            store_dead_letters_remove(D->store, name, ls.v[i].id);
            json_array_append_new(ids, json_string(new_id));
        }
        free(ls.v[i].event);
    }
    free(ls.v);
    if (rc == STORE_NOT_FOUND) {
        json_decref(ids);
        return http_error(req, 404, "ResourceNotFoundException", "function '%s' has no dead letter '%.64s'", name,
                          id);
    }
    if (rc == STORE_ERR || err[0]) {
        json_decref(ids);
        if (rc != STORE_ERR && status == 409)
            return http_error(req, 409, "ResourceConflictException", "%s; the letters before it were replayed, "
                              "those after it were not", err);
        return http_error(req, 500, "StorageException", "%s (the letters replayed before it are gone)",
                          err[0] ? err : store_last_error(D->store));
    }
    http_json(req, 202, json_pack("{s:o}", "request_ids", ids));
}
