/* A function's schedules (store/schedules.h, events/scheduler.c) under
 * /api/v1/functions/{name}/schedules[/{id}]: GET lists them or shows one,
 * PUT creates or replaces one, DELETE removes one. And the test clock,
 * POST /api/v1/test/clock, on a daemon started with --clock-offset.
 * docs/api.md, "Schedules". */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "rest/rest.h"
#include "events/scheduler.h"
#include "http/http_util.h"
#include "pool/daemon.h"
#include "pool/pool.h"
#include "store/schedules.h"
#include "util/schedule_expr.h"
#include "util/util.h"

enum { SCHEDULE_INPUT_MAX = 8192 }; /* EventBridge's limit of a target's Input */

static bool id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n < 1 || n > SCHEDULE_ID_MAX)
        return false;
    for (const char *p = id; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
            return false;
    return true;
}

static json_t *time_or_null(uint64_t ms)
{
    if (!ms)
        return json_null();
    char when[32];
    iso8601(when, ms);
    return json_string(when);
}

static json_t *view(const schedule_t *sc)
{
    json_t *input = sc->input ? json_loads(sc->input, JSON_DECODE_ANY, NULL) : NULL;
    return json_pack("{s:s, s:s, s:o, s:b, s:o, s:o, s:o, s:o}", "id", sc->id, "expression", sc->expression, "input",
                     input ? input : json_null(), "enabled", sc->enabled, "created_at", time_or_null(sc->created_at),
                     "updated_at", time_or_null(sc->updated_at), "last_fired_at", time_or_null(sc->last_fired_at),
                     "next_fire_at", time_or_null(sc->next_at));
}

static void add_view(const schedule_t *sc, void *arg) { json_array_append_new(arg, view(sc)); }

static void no_schedule(struct evhttp_request *req, const char *name, const char *id)
{
    http_error(req, 404, "ResourceNotFoundException", "function '%s' has no schedule '%.64s'", name, id);
}

/* The body's fields into sc: 0, or -1 with err. */
static int parse_body(json_t *body, schedule_t *sc, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        if (strcmp(key, "expression") && strcmp(key, "input") && strcmp(key, "enabled")) {
            snprintf(err, errlen, "unknown field '%.64s' (a schedule takes expression, input and enabled)", key);
            return -1;
        }
    }
    const char *expr = json_string_value(json_object_get(body, "expression"));
    if (!expr) {
        snprintf(err, errlen, "expression must be a string: rate(...) or cron(...)");
        return -1;
    }
    sched_expr_t e;
    if (sched_expr_parse(expr, &e, err, errlen) < 0)
        return -1;
    snprintf(sc->expression, sizeof sc->expression, "%s", expr);
    json_t *enabled = json_object_get(body, "enabled");
    if (enabled && !json_is_boolean(enabled)) {
        snprintf(err, errlen, "enabled must be true or false");
        return -1;
    }
    sc->enabled = !enabled || json_is_true(enabled);
    json_t *input = json_object_get(body, "input");
    if (input && !json_is_null(input)) {
        sc->input = json_dumps(input, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!sc->input || strlen(sc->input) > SCHEDULE_INPUT_MAX) {
            snprintf(err, errlen, "input is larger than %d bytes as JSON", SCHEDULE_INPUT_MAX);
            return -1;
        }
    }
    return 0;
}

static void put(struct evhttp_request *req, const char *name, const char *id)
{
    json_t *body = api_json_object_body(req);
    if (!body)
        return;
    schedule_t sc = {0}, old;
    char err[512];
    snprintf(sc.function, sizeof sc.function, "%s", name);
    snprintf(sc.id, sizeof sc.id, "%s", id);
    int rc = parse_body(body, &sc, err, sizeof err);
    json_decref(body);
    if (rc < 0) {
        free(sc.input);
        return http_error(req, 400, "InvalidParameterValueException", "%s", err);
    }
    /* A rate()'s times count from its last PUT (in whole seconds, as the
     * times are); created_at stays. */
    uint64_t now = scheduler_now_ms() / 1000 * 1000;
    sc.created_at = sc.updated_at = now;
    if (store_schedule_get(D->store, name, id, &old) == STORE_OK) {
        sc.created_at = old.created_at;
        sc.last_fired_at = old.last_fired_at;
        free(old.input);
    }
    sched_expr_t e;
    sched_expr_parse(sc.expression, &e, err, sizeof err);
    int64_t next = sched_expr_next(&e, (int64_t)(now / 1000), (int64_t)(now / 1000));
    sc.next_at = sc.enabled && next >= 0 ? (uint64_t)next * 1000 : 0;
    bool created;
    rc = store_schedule_put(D->store, &sc, &created);
    if (rc == STORE_REFUSED) {
        free(sc.input);
        return http_error(req, 409, "ResourceConflictException", "function '%s' has %d schedules, the most it may have",
                          name, SCHEDULES_PER_FUNCTION);
    }
    if (rc != STORE_OK) {
        free(sc.input);
        return http_error(req, 500, "StorageException", "%s", store_last_error(D->store));
    }
    scheduler_kick();
    http_json(req, created ? 201 : 200, view(&sc));
    free(sc.input);
}

void api_schedules(struct evhttp_request *req, const char *name, const char *id, enum route_id route)
{
    if (!registry_find(name))
        return api_not_found(req, name);
    if (*id && !id_valid(id))
        return http_error(req, 400, "InvalidParameterValueException",
                          "a schedule's id is 1 to %d letters, digits, '.', '_' or '-'", SCHEDULE_ID_MAX);
    if (route == ROUTE_FN_SCHEDULE_PUT)
        return put(req, name, id);
    if (route == ROUTE_FN_SCHEDULE_DELETE) {
        int rc = store_schedule_delete(D->store, name, id);
        if (rc == STORE_NOT_FOUND)
            return no_schedule(req, name, id);
        if (rc != STORE_OK)
            return http_error(req, 500, "StorageException", "%s", store_last_error(D->store));
        scheduler_kick();
        return http_send(req, 204, NULL, 0);
    }
    if (*id) {
        schedule_t sc;
        int rc = store_schedule_get(D->store, name, id, &sc);
        if (rc == STORE_NOT_FOUND)
            return no_schedule(req, name, id);
        if (rc != STORE_OK)
            return http_error(req, 500, "StorageException", "%s", store_last_error(D->store));
        http_json(req, 200, view(&sc));
        free(sc.input);
        return;
    }
    json_t *list = json_array();
    if (store_schedules_each(D->store, name, add_view, list) != STORE_OK) {
        json_decref(list);
        return http_error(req, 500, "StorageException", "%s", store_last_error(D->store));
    }
    http_json(req, 200, json_pack("{s:o, s:i}", "schedules", list, "max", SCHEDULES_PER_FUNCTION));
}

void api_test_clock(struct evhttp_request *req)
{
    if (!D->cfg.test_clock)
        return http_error(req, 404, "NotFound", "the test clock is off (a daemon started with --clock-offset has it)");
    json_t *body = api_json_object_body(req);
    if (!body)
        return;
    json_t *v = json_object_get(body, "advance_s");
    json_int_t s = json_is_integer(v) ? json_integer_value(v) : -1;
    bool only = json_object_size(body) == 1;
    json_decref(body);
    if (!only || s < 0 || s > 10LL * 366 * 86400)
        return http_error(req, 400, "InvalidParameterValueException",
                          "the body is {\"advance_s\": N}, N whole seconds from 0 to 10 years");
    D->cfg.clock_offset_ms += (int64_t)s * 1000;
    scheduler_kick();
    json_t *now = time_or_null(scheduler_now_ms());
    http_json(req, 200, json_pack("{s:o, s:I}", "now", now, "offset_s", (json_int_t)(D->cfg.clock_offset_ms / 1000)));
}
