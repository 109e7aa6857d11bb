/* Provisioned concurrency (store/versions.h, pool.h): the REST API's
 * /api/v1/functions/{name}/provisioned[/{qualifier}] and Lambda's
 * Put/Get/Delete/ListProvisionedConcurrencyConfig(s)
 * (/2019-09-30/functions/{name}/provisioned-concurrency?Qualifier=). A
 * config names a published version or an alias; the version it comes to
 * (an alias's own) keeps that many instances initialized, its own
 * configs' and its aliases' together. docs/api.md, "Provisioned concurrency". */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "rest/rest.h"
#include "api/lambda_shape.h"
#include "api/qualifier.h"
#include "http/http_util.h"
#include "pool/pool.h"
#include "store/versions.h"
#include "util/lambda_arn.h"
#include "util/util.h"

enum { PROVISIONED_MAX = 1000, CONFIGS_MAX = 256 };

/* The version a qualifier of fn comes to: its number, or -1 (none such),
 * 0 ($LATEST, or an alias of it: not provisionable). */
static int version_of(const char *fn, const char *qualifier)
{
    if (qualifier_is_number(qualifier)) {
        fn_config_t c;
        if (store_published_get(D->store, fn, atoi(qualifier), &c, NULL, NULL) != STORE_OK)
            return -1;
        fn_config_clear(&c);
        return atoi(qualifier);
    }
    alias_t a;
    if (!qualifier_alias_valid(qualifier) || store_alias_get(D->store, fn, qualifier, &a) != STORE_OK)
        return !strcmp(qualifier, "$LATEST") ? 0 : -1;
    return a.version;
}

typedef struct wanted {
    int n;
    struct { int version, instances; } v[CONFIGS_MAX];
} wanted_t;

static void add_wanted(const provisioned_t *p, void *arg)
{
    wanted_t *w = arg;
    int v = version_of(p->function, p->qualifier);
    if (v <= 0)
        return; /* its version or alias went */
    for (int i = 0; i < w->n; i++)
        if (w->v[i].version == v) {
            w->v[i].instances += p->requested;
            return;
        }
    if (w->n < CONFIGS_MAX) {
        w->v[w->n].version = v;
        w->v[w->n].instances = p->requested;
        w->n++;
    }
}

static int wanted_for(const wanted_t *w, int version)
{
    for (int i = 0; i < w->n; i++)
        if (w->v[i].version == version)
            return w->v[i].instances;
    return 0;
}

static void set_live(fn_t *fn, void *arg)
{
    int n = wanted_for(arg, fn_published(fn));
    if (pool_provisioned(fn) != n)
        pool_set_provisioned(fn, n);
}

void api_provisioned_sync(const char *name)
{
    wanted_t *w = calloc(1, sizeof *w);
    if (!w)
        return;
    store_provisioned_each(D->store, name, add_wanted, w);
    registry_versions_each(name, set_live, w);
    for (int i = 0; i < w->n; i++) { /* versions with no function of their own yet */
        resolved_t r;
        fn_t *fn = registry_find(name) ? qualifier_version(name, w->v[i].version, &r) : NULL;
        if (fn && pool_provisioned(fn) != w->v[i].instances)
            pool_set_provisioned(fn, w->v[i].instances);
    }
    free(w);
}

/* The instances every other config keeps (all functions'), for the
 * daemon-wide limit. */
typedef struct others {
    const char *fn, *qualifier;
    long sum;
} others_t;

static void add_other(const provisioned_t *p, void *arg)
{
    others_t *o = arg;
    if (strcmp(p->function, o->fn) || strcmp(p->qualifier, o->qualifier))
        o->sum += p->requested;
}

static void sync_named(const provisioned_t *p, void *arg)
{
    char *last = arg; /* (rows come by function: each synced once) */
    if (!strcmp(last, p->function))
        return;
    snprintf(last, FN_NAME_MAX + 1, "%s", p->function);
    api_provisioned_sync(p->function);
}

void api_provisioned_start(void)
{
    char last[FN_NAME_MAX + 1] = "";
    store_provisioned_each(D->store, NULL, sync_named, last);
}

/* ---- the views ---- */

static json_t *view(const provisioned_t *p, bool lambda, bool with_arn)
{
    int v = version_of(p->function, p->qualifier);
    fn_t *fn = v > 0 ? registry_find_version(p->function, v) : NULL;
    int ready = fn ? pool_provisioned_ready(fn) : 0;
    int available = ready < p->requested ? ready : p->requested;
    const char *why = fn ? pool_provision_error(fn) : "its version is gone";
    const char *status = available >= p->requested ? "READY" : *why ? "FAILED" : "IN_PROGRESS";
    char when[40];
    if (lambda) {
        lambda_time(when, p->updated_at);
        json_t *j = json_pack("{s:i, s:i, s:i, s:s, s:s}", "RequestedProvisionedConcurrentExecutions", p->requested,
                              "AvailableProvisionedConcurrentExecutions", available,
                              "AllocatedProvisionedConcurrentExecutions", available, "Status", status, "LastModified",
                              when);
        if (strcmp(status, "READY") && *why)
            json_object_set_new(j, "StatusReason", json_string(why));
        if (with_arn) {
            char arn[LAMBDA_ARN_MAX];
            lambda_function_arn(arn, p->function, p->qualifier);
            json_object_set_new(j, "FunctionArn", json_string(arn));
        }
        return j;
    }
    iso8601(when, p->updated_at);
    json_t *j = json_pack("{s:s, s:i, s:i, s:i, s:s, s:s}", "qualifier", p->qualifier, "version", v, "requested",
                          p->requested, "available", available, "status", status, "updated_at", when);
    if (strcmp(status, "READY") && *why)
        json_object_set_new(j, "status_reason", json_string(why));
    return j;
}

static void add_view(const provisioned_t *p, void *arg)
{
    json_t **out = arg; /* [list, lambda?] */
    json_array_append_new(out[0], view(p, out[1] != NULL, true));
}

/* ---- the routes ---- */

static void none_here(struct evhttp_request *req, bool lambda, const char *fn, const char *q)
{
    if (lambda)
        return http_error(req, 404, "ProvisionedConcurrencyConfigNotFoundException",
                          "No Provisioned Concurrency Config found for this function");
    http_error(req, 404, "ResourceNotFoundException", "function '%s' has no provisioned concurrency for '%.128s'", fn,
               q);
}

void api_provisioned(struct evhttp_request *req, const char *name, const char *qualifier, enum route_id route)
{
    bool lambda = route_is_lambda(route);
    char own[FN_NAME_MAX + 1]; /* (Lambda: a name or an ARN; its Qualifier is the config's, read below) */
    fn_t *latest = !lambda ? registry_find(name) : lambda_function_name(name, own) ? registry_find(own) : NULL;
    if (!latest && lambda)
        return http_error(req, 404, "ResourceNotFoundException", "Function not found: %s%.200s",
                          strstr(name, ":function:") ? "" : LAMBDA_FUNCTION_ARN_PREFIX, name);
    if (!latest)
        return api_not_found(req, name);
    const char *fname = fn_cfg(latest)->name;
    char q[QUALIFIER_MAX + 2] = "", list[8];
    if (lambda)
        api_query(req, "Qualifier", q, sizeof q);
    else
        snprintf(q, sizeof q, "%s", qualifier);
    bool listing = lambda ? route == ROUTE_L_PROVISIONED_GET && api_query(req, "List", list, sizeof list) && !*q
                          : route == ROUTE_FN_PROVISIONED && !*q;
    if (listing) {
        json_t *arr = json_array();
        json_t *arg[2] = {arr, lambda ? arr : NULL};
        if (store_provisioned_each(D->store, fname, add_view, arg) != STORE_OK) {
            json_decref(arr);
            return http_error(req, 500, "ServiceException", "%s", store_last_error(D->store));
        }
        return http_json(req, 200, json_pack("{s:o}", lambda ? "ProvisionedConcurrencyConfigs" : "provisioned", arr));
    }
    int v = *q ? version_of(fname, q) : 0;
    if (!*q || v == 0)
        return http_error(req, 400, "InvalidParameterValueException",
                          "Provisioned Concurrency Configs cannot be applied to unpublished function versions.");
    if (v < 0) {
        if (lambda) {
            char arn[LAMBDA_ARN_MAX];
            lambda_function_arn(arn, fname, q);
            return http_error(req, 404, "ResourceNotFoundException", "Function not found: %s", arn);
        }
        return http_error(req, 404, "ResourceNotFoundException", "function '%s' has no version or alias '%.128s'",
                          fname, q);
    }
    provisioned_t p;
    int rc = store_provisioned_get(D->store, fname, q, &p);
    if (rc == STORE_ERR)
        return http_error(req, 500, "ServiceException", "%s", store_last_error(D->store));
    if (route == ROUTE_FN_PROVISIONED || route == ROUTE_L_PROVISIONED_GET) {
        if (rc == STORE_NOT_FOUND)
            return none_here(req, lambda, fname, q);
        return http_json(req, 200, view(&p, lambda, false));
    }
    if (route == ROUTE_FN_PROVISIONED_DELETE || route == ROUTE_L_PROVISIONED_DELETE) {
        if (rc == STORE_NOT_FOUND)
            return none_here(req, lambda, fname, q);
        if (store_provisioned_delete(D->store, fname, q) != STORE_OK)
            return http_error(req, 500, "ServiceException", "%s", store_last_error(D->store));
        api_provisioned_sync(fname);
        return http_send(req, 204, NULL, 0);
    }
    json_t *body = api_json_object_body(req);
    if (!body)
        return;
    const char *key = lambda ? "ProvisionedConcurrentExecutions" : "instances";
    json_t *n = json_object_get(body, key);
    json_int_t want = json_is_integer(n) && json_object_size(body) == 1 ? json_integer_value(n) : -1;
    json_decref(body);
    if (want < 1 || want > PROVISIONED_MAX)
        return http_error(req, 400, "InvalidParameterValueException", "the body is {\"%s\": N}, N from 1 to %d", key,
                          PROVISIONED_MAX);
    /* Provisioned instances count against the version's concurrency. */
    resolved_t r;
    fn_t *version = qualifier_version(fname, v, &r);
    if (!version)
        return http_error(req, r.status, r.error_type, "%s", r.message);
    int others = pool_provisioned(version) - (rc == STORE_OK ? p.requested : 0);
    int cap = fn_cfg(version)->concurrency;
    if (others + want > cap)
        return http_error(req, 400, "InvalidParameterValueException",
                          "provisioned concurrency (%d for version %d) may not exceed its concurrency (%d)",
                          (int)(others + want), v, cap);
    others_t all = {.fn = fname, .qualifier = q};
    store_provisioned_each(D->store, NULL, add_other, &all);
    if (all.sum + want > D->cfg.max_instances)
        return http_error(req, 400, "InvalidParameterValueException",
                          "provisioned instances of every function (%ld) may not exceed the daemon's --max-instances "
                          "(%d)", all.sum + (long)want, D->cfg.max_instances);
    memset(&p, 0, sizeof p);
    snprintf(p.function, sizeof p.function, "%s", fname);
    snprintf(p.qualifier, sizeof p.qualifier, "%s", q);
    p.requested = (int)want;
    p.updated_at = now_ms();
    if (store_provisioned_put(D->store, &p) != STORE_OK)
        return http_error(req, 500, "ServiceException", "%s", store_last_error(D->store));
    api_provisioned_sync(fname);
    http_json(req, lambda ? 202 : 200, view(&p, lambda, false));
}
