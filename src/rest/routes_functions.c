/* /api/v1/functions: list, get, delete, invoke, logs, instances; the
 * runtimes and health routes. Create and update are in routes_write.c. */
#include <ctype.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "rest/rest.h"
#include "api/apigw.h"
#include "api/fn_spec.h"
#include "api/invoke_answer.h"
#include "api/qualifier.h"
#include "api/source_build.h"
#include "events/async_invoke.h"
#include "http/conn_limit.h"
#include "http/http_util.h"
#include "net/egress.h"
#include "pool/pool.h"
#include "sandbox/microvm.h"
#include "store/store.h"
#include "util/log.h"
#include "util/utf8.h"
#include "util/util.h"

enum { EVENT_MAX_BYTES = 6 * 1024 * 1024 };

static int by_name(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "name"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "name"));
    return strcmp(x, y);
}

static void collect(fn_t *fn, void *arg) { json_array_append_new(arg, fn_config_to_json(fn_cfg(fn))); }

void api_functions_list(struct evhttp_request *req)
{
    json_t *arr = json_array();
    registry_each(collect, arr);
    size_t n = json_array_size(arr);
    json_t **items = malloc((n ? n : 1) * sizeof *items);
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(arr, i));
    qsort(items, n, sizeof *items, by_name);
    json_t *sorted = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(sorted, items[i]);
    free(items);
    json_decref(arr);
    http_json(req, 200, json_pack("{s:o, s:i}", "functions", sorted, "count", (int)n));
}

void api_function_get(struct evhttp_request *req, const char *name)
{
    fn_t *fn = registry_find(name);
    if (!fn)
        return api_not_found(req, name);
    json_t *j = fn_config_to_json(fn_cfg(fn));
    json_object_set_new(j, "events", api_event_figures(name));
    char q[16];
    /* Only inline code is text; a zip's hash and size are in the view. */
    if (api_query(req, "code", q, sizeof q) && !strcmp(q, "true") &&
        !strcmp(fn_config_code_kind(fn_cfg(fn)), "inline")) {
        size_t len;
        cleanup_free char *code = store_get_blob(D->store, fn_cfg(fn)->code_sha256, &len);
        if (code)
            json_object_set_new(j, "code", json_stringn(code, len));
    }
    http_json(req, 200, j);
}

void api_function_delete(struct evhttp_request *req, const char *name)
{
    fn_t *fn = registry_find(name);
    if (!fn)
        return api_not_found(req, name);
    /* Versions first: their code goes unless the current version uses it. */
    store_prune_versions(D->store, name, 0, api_collect_code, NULL);
    if (store_delete(D->store, name) == STORE_ERR)
        return http_error(req, 500, "StorageException", "cannot delete: %s", store_last_error(D->store));
    char sha[65], task[65];
    snprintf(sha, sizeof sha, "%s", fn_cfg(fn)->code_sha256);
    snprintf(task, sizeof task, "%s", fn_cfg(fn)->task_key);
    registry_remove_versions(name, 0);
    registry_remove(fn);
    store_gc_code(D->store, sha, pool_task_in_use(task) ? "" : task);
    source_build_forget(name);
    log_info("function %s deleted", name);
    http_send(req, 204, NULL, 0);
}

/* Glambdar's request shape: {headers, body} with the raw body as a string;
 * its bootstrap adds json(). Header names are lower-cased, as Node has them. */
static struct evbuffer *glambdar_event(struct evhttp_request *req, const char *raw, size_t len)
{
    json_t *headers = http_headers_json(req);
    char *body = utf8_sanitize(raw, len, len);
    json_t *ev = json_pack("{s:o, s:s}", "headers", headers, "body", body ? body : "");
    free(body);
    char *s = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    struct evbuffer *out = evbuffer_new();
    evbuffer_add(out, s, strlen(s));
    free(s);
    return out;
}

void api_invoke(struct evhttp_request *req, fn_t *fn)
{
    if (D->draining)
        return http_error(req, 503, "ServiceUnavailable", "the daemon is shutting down");
    /* X-Impuls-Invocation-Type: Event (or ?invocation_type=Event): kept and
     * run in the background, as Lambda's InvocationType Event
     * (events/async_invoke.h). */
    char tq[24];
    const char *type = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Impuls-Invocation-Type");
    if (!type)
        type = api_query(req, "invocation_type", tq, sizeof tq);
    if (type && strcasecmp(type, "Event") && strcasecmp(type, "RequestResponse"))
        return http_error(req, 400, "InvalidParameterValueException",
                          "the invocation type (X-Impuls-Invocation-Type, ?invocation_type=) must be RequestResponse "
                          "or Event");
    bool async = type && !strcasecmp(type, "Event");
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len > EVENT_MAX_BYTES)
        return http_error(req, 413, "RequestTooLargeException", "the event is larger than %d bytes", EVENT_MAX_BYTES);
    const char *raw = len ? (const char *)evbuffer_pullup(in, -1) : "";
    struct evbuffer *event;
    if (!strcmp(fn_cfg(fn)->mode, "http")) {
        char id[37];
        uuid4(id);
        event = apigw_event(req, "/", "localhost", id);
    } else if (!strcmp(fn_cfg(fn)->style, "glambdar")) {
        event = glambdar_event(req, raw, len);
    } else if (len == 0) {
        event = evbuffer_new();
        evbuffer_add(event, "{}", 2);
    } else {
        json_error_t e;
        json_t *j = json_loadb(raw, len, JSON_DECODE_ANY, &e);
        if (!j)
            return http_error(req, 400, "InvalidRequestContentException", "the event is not valid JSON: %s", e.text);
        json_decref(j);
        event = evbuffer_new();
        evbuffer_add_buffer(event, in);
    }
    char q[16];
    const char *local = api_query(req, "local", q, sizeof q);
    enum sandbox_backend b = local && !strcmp(local, "true") ? SANDBOX_PROCESS : SANDBOX_NAMESPACE;
    if (b == SANDBOX_PROCESS && D->cfg.no_local) {
        evbuffer_free(event);
        return http_error(req, 403, "Forbidden", "local (unsandboxed) invocations are disabled on this daemon (--no-local)");
    }
    if (async && b == SANDBOX_PROCESS) {
        evbuffer_free(event);
        return http_error(req, 400, "InvalidParameterValueException",
                          "an Event invocation runs as the function's isolation says: ?local=true is for calls "
                          "answered at once");
    }
    if (async) {
        char id[37];
        if (api_invoke_async(fn, event, id) < 0) /* (it takes event over) */
            return http_error(req, 500, "StorageException", "the event could not be kept: %s",
                              store_last_error(D->store));
        evhttp_add_header(evhttp_request_get_output_headers(req), "X-Impuls-Request-Id", id);
        return http_json(req, 202, json_pack("{s:s}", "request_id", id));
    }
    const char *lt = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Impuls-Log-Type");
    answer_invoke(fn, b, req, event, lt && !strcasecmp(lt, "Tail"), ANSWER_REST);
}

void api_function_invoke(struct evhttp_request *req, const char *name)
{
    char q[QUALIFIER_MAX + 2];
    resolved_t r;
    fn_t *fn = qualifier_resolve(name, api_query(req, "qualifier", q, sizeof q), &r);
    if (!fn)
        return http_error(req, r.status, r.error_type, "%s", r.message);
    api_invoke(req, fn);
}

void api_function_versions(struct evhttp_request *req, const char *name)
{
    if (!registry_find(name))
        return api_not_found(req, name);
    json_t *v = store_list_versions(D->store, name);
    if (!v)
        return http_error(req, 500, "StorageException", "cannot read versions: %s", store_last_error(D->store));
    http_json(req, 200, json_pack("{s:i, s:o}", "count", (int)json_array_size(v), "versions", v));
}

void api_function_instances(struct evhttp_request *req, const char *name)
{
    fn_t *fn = registry_find(name);
    if (!fn)
        return api_not_found(req, name);
    http_json(req, 200, json_pack("{s:o, s:o}", "instances", pool_instances_json(fn), "events", api_event_figures(name)));
}

/* Whether functions can have isolation "microvm" here, and how VMs run. */
json_t *api_microvm_json(void)
{
    return json_pack("{s:b, s:s, s:s?}", "available", D->cfg.microvm_ok, "accelerator", microvm_accelerator(),
                     "reason", D->cfg.microvm_ok ? NULL : D->cfg.microvm_why);
}

void api_runtimes(struct evhttp_request *req)
{
    json_t *arr = json_array();
    for (const runtime_def_t *r = runtime_all(); r->name; r++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s?, s:b}", "name", r->name, "language",
                                             r->language, "interpreter",
                                             r->interpreter, "available", runtime_available(r)));
    http_json(req, 200, json_pack("{s:o, s:o}", "runtimes", arr, "microvm", api_microvm_json()));
}

