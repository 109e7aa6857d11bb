/* /api/v1/functions: create, list, get, update, delete, invoke, logs. */
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/conn_limit.h"
#include "api/fn_spec.h"
#include "api/http_util.h"
#include "pool/pool.h"
#include "store/store.h"
#include "util/log.h"
#include "util/util.h"

enum { EVENT_MAX_BYTES = 6 * 1024 * 1024 };

static json_t *parse_json_body(struct evhttp_request *req)
{
    size_t len;
    cleanup_free char *body = http_body(req, &len);
    if (!body) {
        http_error(req, 500, "ServiceException", "out of memory");
        return NULL;
    }
    json_error_t e;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
    if (!j)
        http_error(req, 400, "InvalidRequestContentException", "request body is not valid JSON: %s (line %d, column %d)",
                   e.text, e.line, e.column);
    return j;
}

static void not_found(struct evhttp_request *req, const char *name)
{
    http_error(req, 404, "ResourceNotFoundException", "function '%s' not found", name);
}

/* Stores a zip and unpacks it. Returns 0, -1 (refused: err) or -2. */
static int save_zip(const fn_input_t *in, fn_config_t *cfg, char *err, size_t errlen)
{
    int rc = store_materialize_zip(D->store, in->zip, in->zip_len, cfg->task_key, err, errlen);
    if (rc == STORE_REFUSED)
        return -1;
    if (rc != STORE_OK || store_put_blob(D->store, in->zip, in->zip_len, cfg->code_sha256) != STORE_OK) {
        snprintf(err, errlen, "cannot store the code: %s", store_last_error(D->store));
        return -2;
    }
    cfg->code_size = (int64_t)in->zip_len;
    return 0;
}

/* Stores inline code and materialises it for the handler's module. */
static int save_code(const fn_input_t *in, const char *code, size_t len, fn_config_t *cfg,
                     char *err, size_t errlen)
{
    if (in->zip)
        return save_zip(in, cfg, err, errlen);
    const runtime_def_t *rt = runtime_find(cfg->runtime);
    char module[FN_HANDLER_MAX + 1], func[FN_HANDLER_MAX + 1], file[FN_HANDLER_MAX + 16];
    if (!handler_split(cfg->handler, rt, module, func, err, errlen))
        return -1;
    /* Python imports "a.b" as a/b.py; Node requires "a.b" as a.b.js. */
    if (rt->lang == LANG_PYTHON)
        for (char *p = module; *p; p++)
            if (*p == '.')
                *p = '/';
    snprintf(file, sizeof file, "%s%s", module, rt->source_ext);
    if (store_put_blob(D->store, code, len, cfg->code_sha256) != STORE_OK ||
        store_materialize_inline(D->store, code, len, file, cfg->task_key) != STORE_OK) {
        snprintf(err, errlen, "cannot store the code: %s", store_last_error(D->store));
        return -2;
    }
    cfg->code_size = (int64_t)len;
    return 0;
}

void api_functions_create(struct evhttp_request *req)
{
    if (D->draining)
        return http_error(req, 503, "ServiceUnavailable", "the daemon is shutting down");
    json_t *body = parse_json_body(req);
    if (!body)
        return;
    fn_input_t in;
    char err[512];
    if (fn_input_parse(body, true, &in, err, sizeof err) < 0) {
        http_error(req, 400, "InvalidParameterValueException", "%s", err);
        goto out;
    }
    if (registry_find(in.cfg.name)) {
        http_error(req, 409, "ResourceConflictException", "function '%s' already exists", in.cfg.name);
        goto out;
    }
    int rc = save_code(&in, in.code, in.code_len, &in.cfg, err, sizeof err);
    if (rc < 0) {
        http_error(req, rc == -1 ? 400 : 507, rc == -1 ? "InvalidParameterValueException" : "StorageException", "%s", err);
        goto out;
    }
    in.cfg.created_at = in.cfg.updated_at = now_ms();
    in.cfg.version = 1;
    rc = store_insert(D->store, &in.cfg);
    if (rc == STORE_EXISTS) {
        http_error(req, 409, "ResourceConflictException", "function '%s' already exists", in.cfg.name);
    } else if (rc != STORE_OK) {
        store_gc_code(D->store, in.cfg.code_sha256, in.cfg.task_key);
        http_error(req, 507, "StorageException", "cannot save the function: %s", store_last_error(D->store));
    } else {
        registry_add(&in.cfg);
        log_info("function %s created (%s, %s)", in.cfg.name, in.cfg.runtime, in.cfg.handler);
        http_json(req, 201, fn_config_to_json(&in.cfg));
    }
out:
    fn_input_clear(&in);
    json_decref(body);
}

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
        return not_found(req, name);
    json_t *j = fn_config_to_json(fn_cfg(fn));
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

void api_function_update(struct evhttp_request *req, const char *name)
{
    fn_t *fn = registry_find(name);
    if (!fn)
        return not_found(req, name);
    json_t *body = parse_json_body(req);
    if (!body)
        return;
    fn_input_t in;
    char err[512];
    fn_config_t next;
    fn_config_copy(&next, fn_cfg(fn));
    const fn_config_t *old = fn_cfg(fn);
    if (fn_input_parse(body, false, &in, err, sizeof err) < 0) {
        http_error(req, 400, "InvalidParameterValueException", "%s", err);
        goto out;
    }
    if (in.cfg.name[0] && strcmp(in.cfg.name, name)) {
        http_error(req, 400, "InvalidParameterValueException", "name cannot be changed (%s in the path, %s in the body)",
                   name, in.cfg.name);
        goto out;
    }
    if (in.has_runtime)
        snprintf(next.runtime, sizeof next.runtime, "%s", in.cfg.runtime);
    if (in.has_handler)
        snprintf(next.handler, sizeof next.handler, "%s", in.cfg.handler);
    if (in.has_env) {
        json_decref(next.env);
        next.env = json_incref(in.cfg.env);
    }
    if (in.has_memory)
        next.memory_mb = in.cfg.memory_mb;
    if (in.has_timeout)
        next.timeout_s = in.cfg.timeout_s;
    if (in.has_concurrency)
        next.concurrency = in.cfg.concurrency;
    if (in.has_idle)
        next.idle_timeout_s = in.cfg.idle_timeout_s;
    /* New code, or inline code under a new module name or language (a zip
     * holds its own file names). */
    bool was_inline = !strcmp(fn_config_code_kind(old), "inline");
    if (in.code || in.zip || (was_inline && (in.has_handler || in.has_runtime))) {
        size_t len = in.code_len;
        cleanup_free char *stored = NULL;
        const char *code = in.code;
        if (!code && !in.zip) {
            stored = store_get_blob(D->store, old->code_sha256, &len);
            code = stored;
        }
        int rc = code || in.zip ? save_code(&in, code, len, &next, err, sizeof err) : -2;
        if (rc < 0) {
            http_error(req, rc == -1 ? 400 : 507, rc == -1 ? "InvalidParameterValueException" : "StorageException",
                       "%s", rc == -1 || code ? err : "the stored code is missing");
            goto out;
        }
    }
    next.version = old->version + 1;
    next.updated_at = now_ms();
    int rc = store_update(D->store, &next);
    if (rc != STORE_OK) {
        store_gc_code(D->store, next.code_sha256, next.task_key);
        http_error(req, 507, "StorageException", "cannot save the function: %s", store_last_error(D->store));
        goto out;
    }
    char old_sha[65], old_task[65];
    snprintf(old_sha, sizeof old_sha, "%s", old->code_sha256);
    snprintf(old_task, sizeof old_task, "%s", old->task_key);
    registry_update(fn, &next);
    store_gc_code(D->store, old_sha, pool_task_in_use(old_task) ? "" : old_task);
    log_info("function %s updated to version %d", name, next.version);
    http_json(req, 200, fn_config_to_json(fn_cfg(fn)));
out:
    fn_config_clear(&next);
    fn_input_clear(&in);
    json_decref(body);
}

void api_function_delete(struct evhttp_request *req, const char *name)
{
    fn_t *fn = registry_find(name);
    if (!fn)
        return not_found(req, name);
    if (store_delete(D->store, name) == STORE_ERR)
        return http_error(req, 500, "StorageException", "cannot delete: %s", store_last_error(D->store));
    char sha[65], task[65];
    snprintf(sha, sizeof sha, "%s", fn_cfg(fn)->code_sha256);
    snprintf(task, sizeof task, "%s", fn_cfg(fn)->task_key);
    registry_remove(fn);
    store_gc_code(D->store, sha, pool_task_in_use(task) ? "" : task);
    log_info("function %s deleted", name);
    http_send(req, 204, NULL, 0);
}

void api_function_invoke(struct evhttp_request *req, const char *name)
{
    if (D->draining)
        return http_error(req, 503, "ServiceUnavailable", "the daemon is shutting down");
    fn_t *fn = registry_find(name);
    if (!fn)
        return not_found(req, name);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len > EVENT_MAX_BYTES)
        return http_error(req, 413, "RequestTooLargeException", "the event is larger than %d bytes", EVENT_MAX_BYTES);
    struct evbuffer *event = evbuffer_new();
    if (len == 0) {
        evbuffer_add(event, "{}", 2);
    } else {
        json_error_t e;
        json_t *j = json_loadb((const char *)evbuffer_pullup(in, -1), len, JSON_DECODE_ANY, &e);
        if (!j) {
            evbuffer_free(event);
            return http_error(req, 400, "InvalidRequestContentException", "the event is not valid JSON: %s", e.text);
        }
        json_decref(j);
        evbuffer_add_buffer(event, in);
    }
    char q[16];
    const char *local = api_query(req, "local", q, sizeof q);
    enum sandbox_backend b = local && !strcmp(local, "true") ? SANDBOX_PROCESS : SANDBOX_NAMESPACE;
    if (b == SANDBOX_PROCESS && D->cfg.no_local) {
        evbuffer_free(event);
        return http_error(req, 403, "Forbidden", "local (unsandboxed) invocations are disabled on this daemon (--no-local)");
    }
    const char *lt = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Impuls-Log-Type");
    pool_invoke(fn, b, req, event, lt && !strcasecmp(lt, "Tail"));
}

void api_function_logs(struct evhttp_request *req, const char *name)
{
    fn_t *fn = registry_find(name);
    if (!fn)
        return not_found(req, name);
    char q[32];
    long tail = 100;
    if (api_query(req, "tail", q, sizeof q)) {
        char *end;
        tail = strtol(q, &end, 10);
        if (*end || tail < 1 || tail > 10000)
            return http_error(req, 400, "InvalidParameterValueException", "tail must be an integer from 1 to 10000");
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/logs/%s.log", D->cfg.data_dir, name);
    /* The last lines are in the last few hundred KiB at most. */
    size_t len = 0;
    cleanup_free char *all = read_file(path, 64u << 20, &len);
    const char *start = all ? all + len : "";
    if (all) {
        long lines = 0;
        const char *p = all + len;
        if (p > all && p[-1] == '\n')
            p--;
        while (p > all) {
            if (p[-1] == '\n' && ++lines == tail)
                break;
            p--;
        }
        start = p;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; charset=utf-8");
    http_send(req, 200, start, all ? (size_t)(all + len - start) : 0);
}

void api_function_instances(struct evhttp_request *req, const char *name)
{
    fn_t *fn = registry_find(name);
    if (!fn)
        return not_found(req, name);
    http_json(req, 200, json_pack("{s:o}", "instances", pool_instances_json(fn)));
}

void api_runtimes(struct evhttp_request *req)
{
    json_t *arr = json_array();
    for (const runtime_def_t *r = runtime_all(); r->name; r++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:b}", "name", r->name, "language",
                                             r->language, "interpreter",
                                             r->interpreter, "available", runtime_available(r)));
    http_json(req, 200, json_pack("{s:o}", "runtimes", arr));
}

void api_health(struct evhttp_request *req)
{
    http_json(req, D->draining ? 503 : 200,
              json_pack("{s:s, s:s, s:i, s:i, s:i}", "status", D->draining ? "draining" : "ok", "cgroup",
                        cgroup_version_name(cgroup_version()), "instances", pool_instance_count(),
                        "inflight", D->n_inflight, "connections", conn_limit_open()));
}
