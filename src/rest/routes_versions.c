/* Published versions and aliases (store/versions.h, api/qualifier.h),
 * through both APIs:
 *   REST: POST /api/v1/functions/{name}/publish, DELETE .../versions/{n},
 *         GET, POST .../aliases, GET, PUT, DELETE .../aliases/{alias};
 *   Lambda: PublishVersion, ListVersionsByFunction (.../versions),
 *         CreateAlias, ListAliases, GetAlias, UpdateAlias, DeleteAlias
 *         (/2015-03-31/functions/{name}/aliases[/{alias}]).
 * docs/api.md and docs/lambda.md, "Versions and aliases". */
#include <jansson.h>
#include <math.h>
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

/* The function a route names (Lambda: a name or an ARN), or NULL after a 404. */
static fn_t *function_of(struct evhttp_request *req, const char *name, bool lambda)
{
    if (lambda)
        return lambda_find(req, name);
    fn_t *fn = registry_find(name);
    if (!fn)
        api_not_found(req, name);
    return fn;
}

static void version_text(int v, char out[16])
{
    if (v == VERSION_LATEST)
        snprintf(out, 16, "$LATEST");
    else
        snprintf(out, 16, "%d", v);
}

/* ---- publishing ---- */

static json_t *published_view(const fn_config_t *c, const char *description, uint64_t at, bool lambda)
{
    if (lambda)
        return lambda_version_json(c, description);
    json_t *j = fn_config_to_json(c);
    char when[32];
    iso8601(when, at);
    json_object_set_new(j, "published", json_true());
    json_object_set_new(j, "published_description", json_string(description));
    json_object_set_new(j, "published_at", json_string(when));
    return j;
}

void api_publish(struct evhttp_request *req, const char *name, bool lambda)
{
    fn_t *fn = function_of(req, name, lambda);
    if (!fn)
        return;
    const fn_config_t *c = fn_cfg(fn);
    json_t *body = evbuffer_get_length(evhttp_request_get_input_buffer(req)) ? api_json_object_body(req)
                                                                              : json_object();
    if (!body)
        return;
    const char *sha_key = lambda ? "CodeSha256" : "code_sha256", *desc_key = lambda ? "Description" : "description";
    json_t *sha = json_object_get(body, sha_key), *desc = json_object_get(body, desc_key);
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, sha_key) && strcmp(key, desc_key) && (!lambda || strcmp(key, "RevisionId"))) {
            http_error(req, 400, "InvalidParameterValueException", "unknown field '%.64s' (publishing takes %s and %s)",
                       key, desc_key, sha_key);
            json_decref(body); /* (after: the message quotes its key) */
            return;
        }
    }
    if ((sha && !json_is_string(sha)) || (desc && !json_is_string(desc)) ||
        (desc && strlen(json_string_value(desc)) > FN_DESCRIPTION_MAX)) {
        json_decref(body);
        return http_error(req, 400, "InvalidParameterValueException", "%s and %s must be strings (%s at most %d bytes)",
                          desc_key, sha_key, desc_key, FN_DESCRIPTION_MAX);
    }
    /* The code it is meant to publish: Lambda's CodeSha256 is base64, ours hex. */
    if (sha) {
        char mine[48];
        if (lambda)
            lambda_sha_base64(c->code_sha256, mine);
        else
            snprintf(mine, sizeof mine, "%.47s", c->code_sha256);
        bool same = lambda ? !strcmp(mine, json_string_value(sha)) : !strcmp(c->code_sha256, json_string_value(sha));
        if (!same) {
            http_error(req, 412, "PreconditionFailedException",
                       "CodeSha256 (%.100s) is different from current CodeSha256 in $LATEST (%s). Please try again "
                       "with the CodeSha256 in $LATEST.", json_string_value(sha), lambda ? mine : c->code_sha256);
            json_decref(body); /* (after: the message quotes it) */
            return;
        }
    }
    bool created = false;
    int rc = store_publish(D->store, c->name, c->version, desc ? json_string_value(desc) : "", &created);
    json_decref(body);
    if (rc != STORE_OK)
        return http_error(req, 500, "StorageException", "cannot publish: %s", store_last_error(D->store));
    fn_config_t p;
    char description[FN_DESCRIPTION_MAX + 1];
    uint64_t at = 0;
    if (store_published_get(D->store, c->name, c->version, &p, description, &at) != STORE_OK)
        return http_error(req, 500, "StorageException", "cannot read the version: %s", store_last_error(D->store));
    /* Lambda answers 201 either way; ours says whether it is new. */
    http_json(req, lambda || created ? 201 : 200, published_view(&p, description, at, lambda));
    fn_config_clear(&p);
}

static void add_lambda_version(const fn_config_t *c, const char *description, uint64_t at, void *arg)
{
    json_array_append_new(arg, lambda_version_json(c, description));
}

void lambda_versions(struct evhttp_request *req, const char *name)
{
    fn_t *fn = lambda_find(req, name);
    if (!fn)
        return;
    json_t *list = json_array();
    json_array_append_new(list, lambda_config_json(fn_cfg(fn)));
    if (store_published_each(D->store, fn_cfg(fn)->name, add_lambda_version, list) != STORE_OK) {
        json_decref(list);
        return http_error(req, 500, "ServiceException", "%s", store_last_error(D->store));
    }
    http_json(req, 200, json_pack("{s:o}", "Versions", list));
}

/* Deletes published version n of fn (REST DELETE .../versions/{n}, Lambda's
 * DeleteFunction with a Qualifier): its instances stop; its row is then an
 * ordinary version, pruned (and its code collected) as they are. */
void api_version_delete(struct evhttp_request *req, const char *name, const char *which)
{
    if (!qualifier_is_number(which))
        return http_error(req, 400, "InvalidParameterValueException",
                          "a version to delete is a published version's number, not '%.64s'", which);
    int rc = store_unpublish(D->store, name, atoi(which));
    if (rc == STORE_NOT_FOUND)
        return http_error(req, 404, "ResourceNotFoundException", "function '%s' has no version %s", name, which);
    if (rc == STORE_EXISTS)
        return http_error(req, 409, "ResourceConflictException",
                          "version %s of '%s' is named by an alias: point the alias elsewhere or delete it first", which,
                          name);
    if (rc != STORE_OK)
        return http_error(req, 500, "StorageException", "%s", store_last_error(D->store));
    registry_remove_versions(name, atoi(which));
    store_provisioned_delete(D->store, name, which); /* (its own config goes with it) */
    store_prune_versions(D->store, name, STORE_VERSIONS_KEPT, api_collect_code, NULL);
    http_send(req, 204, NULL, 0);
}

void api_version_delete_rest(struct evhttp_request *req, const char *name, const char *which)
{
    if (!registry_find(name))
        return api_not_found(req, name);
    api_version_delete(req, name, which);
}

/* ---- aliases ---- */

static json_t *alias_view(const alias_t *a, bool lambda)
{
    char v[16], extra[16];
    version_text(a->version, v);
    version_text(a->extra_version, extra);
    if (lambda) {
        char arn[LAMBDA_ARN_MAX];
        lambda_function_arn(arn, a->function, a->name);
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "AliasArn", arn, "Name", a->name, "FunctionVersion", v,
                              "Description", a->description, "RevisionId", a->revision);
        if (a->extra_version)
            json_object_set_new(j, "RoutingConfig",
                                json_pack("{s:{s:f}}", "AdditionalVersionWeights", extra, a->extra_weight));
        return j;
    }
    char created[32], updated[32];
    iso8601(created, a->created_at);
    iso8601(updated, a->updated_at);
    json_t *version = a->version ? json_integer(a->version) : json_string("$LATEST");
    json_t *routing = a->extra_version ? json_pack("{s:i, s:f}", "version", a->extra_version, "weight", a->extra_weight)
                                       : json_null();
    return json_pack("{s:s, s:o, s:s, s:o, s:s, s:s, s:s}", "name", a->name, "version", version, "description",
                     a->description, "routing", routing, "revision", a->revision, "created_at", created, "updated_at",
                     updated);
}

/* A version a body names: a published one's number, or $LATEST (0). In
 * Lambda's fields a string; in ours a number or "$LATEST". -1: none such
 * (err says so). */
static int version_named(json_t *v, const char *fn, bool lambda, int *status, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    if (s && !strcmp(s, "$LATEST"))
        return VERSION_LATEST;
    char text[32] = "";
    if (s && lambda && qualifier_is_number(s))
        snprintf(text, sizeof text, "%s", s);
    else if (!lambda && json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < 1000000000)
        snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
    if (!*text) {
        *status = 400;
        snprintf(err, errlen, "%s must be a published version's number or \"$LATEST\"",
                 lambda ? "FunctionVersion" : "version");
        return -1;
    }
    fn_config_t c;
    int rc = store_published_get(D->store, fn, atoi(text), &c, NULL, NULL);
    if (rc == STORE_OK) {
        fn_config_clear(&c);
        return atoi(text);
    }
    *status = 404;
    snprintf(err, errlen, "function '%s' has no version %s", fn, text);
    return -1;
}

/* The body's fields over a (a create's: all; an update's: those given). */
static int parse_alias(json_t *body, alias_t *a, bool create, bool lambda, int *status, char *err, size_t errlen)
{
    static const char *const REST[] = {"name", "version", "description", "routing"};
    static const char *const LAMBDA[] = {"Name", "FunctionVersion", "Description", "RoutingConfig", "RevisionId"};
    const char *const *keys = lambda ? LAMBDA : REST;
    const char *key;
    json_t *v;
    *status = 400;
    json_object_foreach(body, key, v)
    {
        bool known = false;
        for (int i = 0; i < (lambda ? 5 : 4); i++)
            known = known || (!strcmp(key, keys[i]) && (i != 0 || create));
        if (!known) {
            snprintf(err, errlen, "unknown field '%.64s' (an alias takes %s%s%s, %s, %s)", key,
                     create ? keys[0] : "", create ? ", " : "", keys[1], keys[2], keys[3]);
            return -1;
        }
    }
    if (create) {
        const char *n = json_string_value(json_object_get(body, keys[0]));
        if (!n || !qualifier_alias_valid(n)) {
            snprintf(err, errlen, "%s must be 1 to %d letters, digits, '-' or '_', not all digits", keys[0],
                     ALIAS_NAME_MAX);
            return -1;
        }
        snprintf(a->name, sizeof a->name, "%s", n);
    }
    json_t *version = json_object_get(body, keys[1]);
    if (create && !version) {
        snprintf(err, errlen, "%s is required", keys[1]);
        return -1;
    }
    if (version && (a->version = version_named(version, a->function, lambda, status, err, errlen)) < 0)
        return -1;
    json_t *desc = json_object_get(body, keys[2]);
    if (desc && (!json_is_string(desc) || strlen(json_string_value(desc)) > FN_DESCRIPTION_MAX)) {
        snprintf(err, errlen, "%s must be a string of at most %d bytes", keys[2], FN_DESCRIPTION_MAX);
        return -1;
    }
    if (desc)
        snprintf(a->description, sizeof a->description, "%s", json_string_value(desc));
    json_t *routing = json_object_get(body, keys[3]);
    if (routing && !json_is_null(routing)) {
        json_t *extra_v = NULL, *weight = NULL;
        if (lambda) {
            json_t *weights = json_object_get(routing, "AdditionalVersionWeights");
            const char *k;
            json_t *w;
            if (!json_is_object(routing) || !json_is_object(weights) || json_object_size(weights) > 1) {
                snprintf(err, errlen, "RoutingConfig is {\"AdditionalVersionWeights\": {\"VERSION\": WEIGHT}}, one "
                                      "version at most");
                return -1;
            }
            json_object_foreach(weights, k, w)
            {
                extra_v = json_string(k);
                weight = w;
            }
        } else {
            if (!json_is_object(routing) || json_object_size(routing) != 2 || !json_object_get(routing, "version") ||
                !json_object_get(routing, "weight")) {
                snprintf(err, errlen, "routing is {\"version\": N, \"weight\": 0.0-1.0}, or null");
                return -1;
            }
            extra_v = json_incref(json_object_get(routing, "version"));
            weight = json_object_get(routing, "weight");
        }
        a->extra_version = 0;
        a->extra_weight = 0;
        if (extra_v) {
            int ev = version_named(extra_v, a->function, lambda, status, err, errlen);
            json_decref(extra_v);
            if (ev < 0)
                return -1;
            if (ev == VERSION_LATEST) {
                *status = 400;
                snprintf(err, errlen, "an alias's second version must be a published one, not $LATEST");
                return -1;
            }
            double w = json_is_number(weight) ? json_number_value(weight) : -1;
            if (!(w >= 0 && w < 1)) { /* (1.0 would send it every call: Lambda's bound is below 1) */
                snprintf(err, errlen, "a version's weight must be a number from 0.0 to below 1.0");
                return -1;
            }
            a->extra_version = ev;
            a->extra_weight = w;
        }
    } else if (routing) { /* null: no second version */
        a->extra_version = 0;
        a->extra_weight = 0;
    }
    *status = 400;
    if (a->extra_version && a->version == VERSION_LATEST) {
        snprintf(err, errlen, "an alias that sends calls to a second version must name a published version, not $LATEST");
        return -1;
    }
    if (a->extra_version && a->extra_version == a->version) {
        snprintf(err, errlen, "an alias's second version must be another than its own");
        return -1;
    }
    return 0;
}

static void add_alias(const alias_t *a, void *arg)
{
    json_t **out = arg; /* [list, lambda?] */
    json_array_append_new(out[0], alias_view(a, out[1] != NULL));
}

static void no_alias(struct evhttp_request *req, const char *fn, const char *name, bool lambda)
{
    if (lambda) {
        char arn[LAMBDA_ARN_MAX];
        lambda_function_arn(arn, fn, name);
        return http_error(req, 404, "ResourceNotFoundException", "Alias not found: %s", arn);
    }
    http_error(req, 404, "ResourceNotFoundException", "function '%s' has no alias '%.128s'", fn, name);
}

void api_aliases(struct evhttp_request *req, const char *name, const char *alias, enum route_id route)
{
    bool lambda = route_is_lambda(route);
    fn_t *fn = function_of(req, name, lambda);
    if (!fn)
        return;
    const char *fname = fn_cfg(fn)->name;
    if (*alias && !qualifier_alias_valid(alias))
        return no_alias(req, fname, alias, lambda);
    if (route == ROUTE_FN_ALIASES || route == ROUTE_L_ALIASES) {
        if (*alias) {
            alias_t a;
            int rc = store_alias_get(D->store, fname, alias, &a);
            if (rc == STORE_NOT_FOUND)
                return no_alias(req, fname, alias, lambda);
            if (rc != STORE_OK)
                return http_error(req, 500, "ServiceException", "%s", store_last_error(D->store));
            return http_json(req, 200, alias_view(&a, lambda));
        }
        json_t *list = json_array();
        json_t *arg[2] = {list, lambda ? list : NULL};
        if (store_aliases_each(D->store, fname, add_alias, arg) != STORE_OK) {
            json_decref(list);
            return http_error(req, 500, "ServiceException", "%s", store_last_error(D->store));
        }
        return http_json(req, 200, json_pack("{s:o}", lambda ? "Aliases" : "aliases", list));
    }
    if (route == ROUTE_FN_ALIAS_DELETE || route == ROUTE_L_ALIAS_DELETE) {
        int rc = store_alias_delete(D->store, fname, alias);
        if (rc == STORE_NOT_FOUND)
            return no_alias(req, fname, alias, lambda);
        if (rc != STORE_OK)
            return http_error(req, 500, "ServiceException", "%s", store_last_error(D->store));
        store_provisioned_delete(D->store, fname, alias); /* (its config goes with it) */
        api_provisioned_sync(fname);
        return http_send(req, 204, NULL, 0);
    }
    bool create = route == ROUTE_FN_ALIAS_CREATE || route == ROUTE_L_ALIAS_CREATE;
    alias_t a = {0};
    snprintf(a.function, sizeof a.function, "%s", fname);
    if (!create) {
        int rc = store_alias_get(D->store, fname, alias, &a);
        if (rc == STORE_NOT_FOUND)
            return no_alias(req, fname, alias, lambda);
        if (rc != STORE_OK)
            return http_error(req, 500, "ServiceException", "%s", store_last_error(D->store));
    }
    json_t *body = api_json_object_body(req);
    if (!body)
        return;
    int status = 400;
    char err[320];
    int rc = parse_alias(body, &a, create, lambda, &status, err, sizeof err);
    json_decref(body);
    if (rc < 0)
        return http_error(req, status, status == 404 ? "ResourceNotFoundException" : "InvalidParameterValueException",
                          "%s", err);
    a.updated_at = now_ms();
    if (create)
        a.created_at = a.updated_at;
    uuid4(a.revision);
    rc = store_alias_put(D->store, &a, create);
    if (rc == STORE_EXISTS) {
        char arn[LAMBDA_ARN_MAX];
        lambda_function_arn(arn, fname, a.name);
        if (lambda)
            return http_error(req, 409, "ResourceConflictException", "Alias already exists: %s", arn);
        return http_error(req, 409, "ResourceConflictException", "function '%s' has an alias '%s' already", fname,
                          a.name);
    }
    if (rc != STORE_OK)
        return http_error(req, 500, "ServiceException", "%s", store_last_error(D->store));
    api_provisioned_sync(fname); /* (an alias's provisioned instances follow it) */
    http_json(req, create ? 201 : 200, alias_view(&a, lambda));
}
