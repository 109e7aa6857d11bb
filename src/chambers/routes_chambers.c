/* impulse's chamber routes: POST /chambers {"app","version","runtime"} → 201,
 * GET /chambers → [chamber...], GET /chambers/{id}, and the destroy route
 * impulse never finished, DELETE /chambers/{id} → 204. */
#include <event2/http.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "chambers/chamber.h"
#include "api/fn_spec.h"
#include "http/http_util.h"
#include "pool/pool.h"
#include "runtime_api/runtimes.h"
#include "store/store.h"
#include "store/versions.h"

static void bad(struct evhttp_request *req, const char *msg)
{
    http_error(req, 400, "InvalidParameterValueException", "%s", msg);
}

void api_chambers_list(struct evhttp_request *req) { http_json(req, 200, chambers_json()); }

void api_chamber_get(struct evhttp_request *req, const char *id)
{
    chamber_t *c = chamber_find(id);
    if (!c)
        return http_error(req, 404, "ResourceNotFoundException", "chamber '%s' not found", id);
    http_json(req, 200, chamber_json(c));
}

void api_chamber_delete(struct evhttp_request *req, const char *id)
{
    chamber_t *c = chamber_find(id);
    if (!c)
        return http_error(req, 404, "ResourceNotFoundException", "chamber '%s' not found", id);
    chamber_destroy(c);
    http_send(req, 204, NULL, 0);
}

/* version: a label ("1.0.0") or a version number, as a string or an integer. */
static bool version_text(json_t *v, char out[FN_LABEL_MAX + 1])
{
    if (json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 1000000000) {
        snprintf(out, FN_LABEL_MAX + 1, "%lld", (long long)json_integer_value(v));
        return true;
    }
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > FN_LABEL_MAX || n != json_string_length(v))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] >= 0x21 && s[i] < 0x7f))
            return false;
    snprintf(out, FN_LABEL_MAX + 1, "%s", s);
    return true;
}

void api_chambers_create(struct evhttp_request *req)
{
    if (D->draining)
        return http_error(req, 503, "ServiceUnavailable", "the daemon is shutting down");
    json_t *body = api_json_object_body(req);
    if (!body)
        return;
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val)
    {
        if (strcmp(key, "app") && strcmp(key, "version") && strcmp(key, "runtime")) {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown field '%.64s' (a chamber takes app, version and runtime)", key);
            json_decref(body);
            return bad(req, msg);
        }
    }
    const char *app = json_string_value(json_object_get(body, "app"));
    char version[FN_LABEL_MAX + 1];
    json_t *rtv = json_object_get(body, "runtime");
    const char *msg = !app ? "app is required: the name of a function"
                      : !fn_name_valid(app) ? "app must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
                      : !json_object_get(body, "version") ? "version is required: a version label or number"
                      : !version_text(json_object_get(body, "version"), version)
                          ? "version must be a label or a number of 1 to 64 printable characters"
                      : rtv && !json_is_string(rtv) ? "runtime must be a string"
                                                    : NULL;
    if (msg) {
        json_decref(body);
        return bad(req, msg);
    }
    const runtime_def_t *rt = rtv ? runtime_find(json_string_value(rtv)) : NULL;
    if (rtv && !rt) {
        http_error(req, 400, "InvalidParameterValueException", "unknown runtime '%.32s' (see GET /api/v1/runtimes)",
                   json_string_value(rtv));
        json_decref(body);
        return;
    }
    fn_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    int rc = store_find_version(D->store, app, version, &cfg);
    alias_t alias; /* no such label or number: an alias's version (its own, not its share's) */
    if (rc == STORE_NOT_FOUND && store_alias_get(D->store, app, version, &alias) == STORE_OK) {
        char n[16];
        fn_t *latest = registry_find(app);
        snprintf(n, sizeof n, "%d", alias.version ? alias.version : latest ? fn_cfg(latest)->version : 0);
        rc = store_find_version(D->store, app, n, &cfg);
    }
    if (rc != STORE_OK) {
        if (rc == STORE_NOT_FOUND && !registry_find(app))
            http_error(req, 404, "ResourceNotFoundException", "function '%s' not found", app);
        else if (rc == STORE_NOT_FOUND)
            http_error(req, 404, "ResourceNotFoundException",
                       "function '%s' has no version '%s' (see GET /api/v1/functions/%s/versions)", app, version, app);
        else
            http_error(req, 500, "StorageException", "%s", store_last_error(D->store));
        json_decref(body);
        return;
    }
    const runtime_def_t *own = runtime_find(cfg.runtime);
    char task[4096];
    store_task_dir(D->store, cfg.task_key, task);
    int status = 0;
    char err[256];
    /* A provided version runs its own executable, whatever runtime is named. */
    if (own && own->lang == LANG_PROVIDED)
        rt = NULL;
    if (rt && own && rt->lang != own->lang) {
        status = 400;
        snprintf(err, sizeof err, "version %s of %s runs on %s; runtime %s cannot run it", version, app,
                 own->name, rt->name);
    } else if (access(task, R_OK | X_OK) < 0) {
        status = 500;
        snprintf(err, sizeof err, "the code of version %s of %s is missing", version, app);
    } else {
        if (rt)
            snprintf(cfg.runtime, sizeof cfg.runtime, "%s", rt->name);
        json_t *spec = json_pack("{s:s, s:s, s:s}", "app", app, "version", version, "runtime",
                                 rtv ? json_string_value(rtv) : cfg.runtime);
        chamber_t *c = chamber_start(&cfg, spec, &status, err, sizeof err);
        json_decref(spec);
        if (c) {
            json_t *j = chamber_json(c);
            char loc[512];
            snprintf(loc, sizeof loc, "/chambers/%s", json_string_value(json_object_get(j, "id")));
            evhttp_add_header(evhttp_request_get_output_headers(req), "Location", loc);
            http_json(req, 201, j);
        }
    }
    if (status)
        http_error(req, status, status == 400 ? "InvalidParameterValueException"
                                : status == 503 ? "ServiceUnavailable" : "ServiceException", "%s", err);
    fn_config_clear(&cfg);
    json_decref(body);
}
