/* The AWS Lambda API (2015-03-31) on the same listener, so awscli and the
 * SDKs work against Impuls: CreateFunction, ListFunctions, GetFunction,
 * GetFunctionConfiguration, DeleteFunction, UpdateFunctionCode,
 * UpdateFunctionConfiguration and Invoke. The management calls translate
 * Lambda's fields to the REST API's and go through the same write path, so a
 * function made either way is the same function; answers and errors take
 * Lambda's shapes (lambda_shape.c, http_error). docs/lambda.md. */
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "rest/rest.h"
#include "events/async_invoke.h"
#include "api/invoke_answer.h"
#include "api/lambda_shape.h"
#include "api/qualifier.h"
#include "http/http_util.h"
#include "net/egress.h"
#include "pool/pool.h"
#include "store/versions.h"
#include "util/util.h"

enum { LAMBDA_EVENT_MAX = 6 * 1024 * 1024 };

/* A FunctionName with its qualifier (NAME:QUAL, ACCOUNT:function:NAME:QUAL,
 * or the ARN with it) and the Qualifier parameter, which must agree. For a
 * call (an alias picks one of its versions) or a look (its own version). */
static fn_t *lambda_find_qualified(struct evhttp_request *req, const char *given, bool call, resolved_t *r)
{
    memset(r, 0, sizeof *r);
    char bare[512], q[QUALIFIER_MAX + 2] = "", param[QUALIFIER_MAX + 2];
    snprintf(bare, sizeof bare, "%s", given);
    char *fn_part = strstr(bare, ":function:");
    char *colon = strchr(fn_part ? fn_part + 10 : bare, ':');
    if (colon) {
        snprintf(q, sizeof q, "%s", colon + 1);
        *colon = '\0';
    }
    const char *qp = api_query(req, "Qualifier", param, sizeof param);
    if (qp && *q && strcmp(qp, q)) {
        http_error(req, 400, "InvalidParameterValueException",
                   "The derived qualifier from the function name does not match the specified qualifier.");
        return NULL;
    }
    if (qp)
        snprintf(q, sizeof q, "%s", qp);
    char name[FN_NAME_MAX + 1];
    fn_t *fn = NULL;
    if (lambda_function_name(bare, name)) {
        if (call || !*q || !strcmp(q, "$LATEST") || qualifier_is_number(q)) {
            fn = qualifier_resolve(name, q, r);
        } else { /* an alias, looked at: the version it names */
            alias_t a;
            memset(r, 0, sizeof *r);
            if (store_alias_get(D->store, name, q, &a) == STORE_OK) {
                char v[16];
                snprintf(v, sizeof v, "%d", a.version);
                fn = qualifier_resolve(name, a.version ? v : "", r);
            }
        }
    }
    if (!fn && r->status == 500)
        http_error(req, 500, "ServiceException", "%s", r->message);
    else if (!fn)
        http_error(req, 404, "ResourceNotFoundException", "Function not found: %s%.200s%s%.128s",
                   strstr(bare, ":function:") ? "" : LAMBDA_FUNCTION_ARN_PREFIX, bare, *q ? ":" : "", q);
    return fn;
}

static void add_fn(fn_t *fn, void *arg) { json_array_append_new(arg, lambda_config_json(fn_cfg(fn))); }

void lambda_list(struct evhttp_request *req)
{
    json_t *arr = json_array();
    registry_each(add_fn, arr);
    http_json(req, 200, json_pack("{s:o}", "Functions", arr));
}

void lambda_get(struct evhttp_request *req, const char *name, bool with_code)
{
    resolved_t r;
    fn_t *fn = lambda_find_qualified(req, name, false, &r);
    if (!fn)
        return;
    json_t *cfg = lambda_config_json(fn_cfg(fn));
    if (fn_published(fn)) {
        char description[FN_DESCRIPTION_MAX + 1] = "";
        fn_config_t p;
        if (store_published_get(D->store, fn_cfg(fn)->name, fn_published(fn), &p, description, NULL) == STORE_OK)
            fn_config_clear(&p);
        json_decref(cfg);
        cfg = lambda_version_json(fn_cfg(fn), description);
    }
    if (!with_code)
        return http_json(req, 200, cfg);
    /* Where the code can be fetched: our own REST route. */
    char location[512];
    snprintf(location, sizeof location, "http://%s/api/v1/functions/%s?code=true", D->cfg.addr, fn_cfg(fn)->name);
    http_json(req, 200, json_pack("{s:o, s:{s:s, s:s}, s:{s:s, s:s}}", "Configuration", cfg, "Code", "RepositoryType",
                                  "S3", "Location", location, "Tags", LAMBDA_ISOLATION_TAG, fn_cfg(fn)->isolation,
                                  LAMBDA_NETWORK_TAG, fn_cfg(fn)->network));
}

void lambda_delete(struct evhttp_request *req, const char *name)
{
    /* A version's number deletes that version; no qualifier the whole
     * function; $LATEST or an alias nothing (anything else names nothing:
     * the 404 below). */
    char q[QUALIFIER_MAX + 2], bare[FN_NAME_MAX + 1];
    const char *qual = api_query(req, "Qualifier", q, sizeof q);
    const char *fn_part = strstr(name, ":function:"), *colon = strchr(fn_part ? fn_part + 10 : name, ':');
    const char *given = qual && *qual ? qual : colon ? colon + 1 : NULL;
    snprintf(bare, sizeof bare, "%.*s", colon ? (int)(colon - (fn_part ? fn_part + 10 : name)) : FN_NAME_MAX,
             fn_part ? fn_part + 10 : name);
    alias_t alias;
    if (given && (!strcmp(given, "$LATEST") ||
                  (qualifier_alias_valid(given) && store_alias_get(D->store, bare, given, &alias) == STORE_OK)))
        return http_error(req, 400, "InvalidParameterValueException",
                          "$LATEST version cannot be deleted without deleting the function, and an alias is deleted "
                          "with DeleteAlias: give a version's number, or no qualifier.");
    resolved_t r;
    fn_t *fn = lambda_find_qualified(req, name, false, &r);
    if (!fn)
        return;
    if (fn_published(fn)) { /* DeleteFunction of a version: that version only */
        char own[FN_NAME_MAX + 1];
        snprintf(own, sizeof own, "%s", fn_cfg(fn)->name);
        return api_version_delete(req, own, r.version);
    }
    char own[FN_NAME_MAX + 1]; /* the function (and its name) goes with the delete */
    snprintf(own, sizeof own, "%s", fn_cfg(fn)->name);
    api_function_delete(req, own);
}

/* Lambda's request fields → the REST API's. Fields of Lambda's that change
 * nothing here (Role, Publish, TracingConfig, tags but impuls:isolation, ...)
 * are accepted and ignored; ones that would need what Impuls does not have
 * are refused. A create's tag impuls:isolation is the function's isolation
 * (Lambda has no field for it; a tag is what awscli and the SDKs can send). */
static json_t *translate(json_t *in, bool create, bool code_only, char *err, size_t errlen)
{
    json_t *out = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(in, key, v)
    {
        if (!strcmp(key, "FunctionName") && create) {
            json_object_set(out, "name", v);
        } else if (!strcmp(key, "Runtime") && !code_only) {
            json_object_set(out, "runtime", v);
        } else if (!strcmp(key, "Handler") && !code_only) {
            json_object_set(out, "handler", v);
        } else if (!strcmp(key, "MemorySize") && !code_only) {
            json_object_set(out, "memory_mb", v);
        } else if (!strcmp(key, "Timeout") && !code_only) {
            json_object_set(out, "timeout_s", v);
        } else if (!strcmp(key, "Description") && !code_only) {
            json_object_set(out, "description", v);
        } else if (!strcmp(key, "Environment") && !code_only) {
            json_t *vars = json_object_get(v, "Variables");
            if (!json_is_object(v) || (json_object_size(v) > 0 && !vars)) {
                snprintf(err, errlen, "Environment must be {\"Variables\": {...}}");
                goto bad;
            }
            json_object_set(out, "env", vars ? vars : json_object());
        } else if (!strcmp(key, "Tags") && create) {
            json_t *iso = json_object_get(v, LAMBDA_ISOLATION_TAG), *tag;
            const char *tag_key;
            bool strings = json_is_object(v);
            json_object_foreach(v, tag_key, tag)
                strings = strings && json_is_string(tag);
            if (!strings) {
                snprintf(err, errlen, "Tags must be an object of strings");
                goto bad;
            }
            if (iso)
                json_object_set(out, "isolation", iso);
            json_t *net = json_object_get(v, LAMBDA_NETWORK_TAG);
            if (net)
                json_object_set(out, "network", net);
        } else if (!strcmp(key, "Code") && create) {
            json_t *zip = json_object_get(v, "ZipFile");
            if (!json_is_object(v) || !zip || json_object_size(v) != 1) {
                snprintf(err, errlen, "Code must hold ZipFile (base64); S3 locations and images are not supported");
                goto bad;
            }
            json_object_set(out, "zip", zip);
        } else if (!strcmp(key, "ZipFile") && code_only) {
            json_object_set(out, "zip", v);
        } else if (!strcmp(key, "PackageType") && !(json_is_string(v) && !strcmp(json_string_value(v), "Zip"))) {
            snprintf(err, errlen, "PackageType must be Zip: container images are not supported");
            goto bad;
        } else if (!strcmp(key, "Architectures") &&
                   !(json_is_array(v) && json_array_size(v) == 1 &&
                     json_is_string(json_array_get(v, 0)) && !strcmp(json_string_value(json_array_get(v, 0)), "x86_64"))) {
            snprintf(err, errlen, "Architectures must be [\"x86_64\"]");
            goto bad;
        } else if (!strcmp(key, "Layers") && json_array_size(v) > 0) {
            snprintf(err, errlen, "Layers are not supported: put the code in the zip");
            goto bad;
        } else if ((code_only && (!strcmp(key, "S3Bucket") || !strcmp(key, "S3Key") || !strcmp(key, "ImageUri")))) {
            snprintf(err, errlen, "only ZipFile is supported: S3 locations and images are not");
            goto bad;
        }
    }
    return out;
bad:
    json_decref(out);
    return NULL;
}

static void write_from_lambda(struct evhttp_request *req, const char *name, bool create, bool code_only)
{
    if (D->draining)
        return http_error(req, 503, "ServiceUnavailable", "the daemon is shutting down");
    json_t *body = api_json_object_body(req);
    if (!body)
        return;
    char err[256];
    json_t *spec = translate(body, create, code_only, err, sizeof err);
    json_decref(body);
    if (!spec)
        return http_error(req, 400, "InvalidParameterValueException", "%s", err);
    /* Lambda's defaults where they differ from the REST API's: a 3 s
     * timeout, and a way out (a function without VpcConfig reaches the
     * internet), where this daemon offers egress and the function's sandbox
     * can have it. */
    if (create && !json_object_get(spec, "timeout_s"))
        json_object_set_new(spec, "timeout_s", json_integer(3));
    const char *iso = json_string_value(json_object_get(spec, "isolation"));
    if (!iso)
        iso = sandbox_backend_name(D->cfg.isolation);
    if (create && !json_object_get(spec, "network"))
        json_object_set_new(spec, "network",
                            json_string(egress_available() && (!strcmp(iso, "namespace") || !strcmp(iso, "microvm"))
                                            ? "egress" : "none"));
    if (create && !json_object_get(spec, "zip")) {
        json_decref(spec);
        return http_error(req, 400, "InvalidParameterValueException", "Code.ZipFile is required");
    }
    if (code_only && !json_object_get(spec, "zip")) {
        json_decref(spec);
        return http_error(req, 400, "InvalidParameterValueException", "ZipFile is required");
    }
    api_write(req, spec, create, name);
}

void lambda_create(struct evhttp_request *req) { write_from_lambda(req, NULL, true, false); }

void lambda_update(struct evhttp_request *req, const char *name, bool code)
{
    fn_t *fn = lambda_find(req, name);
    if (fn)
        write_from_lambda(req, fn_cfg(fn)->name, false, code);
}

/* Reserved concurrency is the function's concurrency cap: Put sets it (0:
 * every call throttled), Delete puts the default back, Get shows it where
 * it is not the default. Both writes go through the write path, as an
 * update of "concurrency". */
void lambda_concurrency(struct evhttp_request *req, const char *name, enum route_id id)
{
    fn_t *fn = lambda_find(req, name);
    if (!fn)
        return;
    if (id == ROUTE_L_CONCURRENCY_GET)
        return http_json(req, 200, lambda_concurrency_json(fn_cfg(fn)));
    if (D->draining)
        return http_error(req, 503, "ServiceUnavailable", "the daemon is shutting down");
    int n = FN_CONCURRENCY_DEFAULT;
    if (id == ROUTE_L_CONCURRENCY_PUT) {
        json_t *body = api_json_object_body(req);
        if (!body)
            return;
        json_t *v = json_object_get(body, "ReservedConcurrentExecutions");
        json_int_t x = json_is_integer(v) ? json_integer_value(v) : -1; /* (not an integer: refused) */
        json_decref(body);
        if (x < FN_CONCURRENCY_MIN || x > FN_CONCURRENCY_MAX)
            return http_error(req, 400, "InvalidParameterValueException",
                              "ReservedConcurrentExecutions must be an integer from %d to %d", FN_CONCURRENCY_MIN,
                              FN_CONCURRENCY_MAX);
        n = (int)x;
    }
    char own[FN_NAME_MAX + 1];
    snprintf(own, sizeof own, "%s", fn_cfg(fn)->name);
    api_write(req, json_pack("{s:i}", "concurrency", n), false, own);
}

void lambda_invoke(struct evhttp_request *req, const char *name)
{
    resolved_t r;
    fn_t *fn = lambda_find_qualified(req, name, true, &r);
    if (!fn)
        return;
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *type = evhttp_find_header(h, "X-Amz-Invocation-Type");
    if (!type)
        type = "RequestResponse";
    if (strcmp(type, "RequestResponse") && strcmp(type, "Event") && strcmp(type, "DryRun"))
        return http_error(req, 400, "InvalidParameterValueException",
                          "X-Amz-Invocation-Type must be RequestResponse, Event or DryRun");
    if (D->draining)
        return http_error(req, 503, "ServiceUnavailable", "the daemon is shutting down");
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len > LAMBDA_EVENT_MAX)
        return http_error(req, 413, "RequestTooLargeException", "Request must be smaller than %d bytes for the "
                                                                 "InvokeFunction operation", LAMBDA_EVENT_MAX);
    struct evbuffer *event = evbuffer_new();
    if (len == 0) {
        evbuffer_add(event, "{}", 2);
    } else {
        json_error_t e;
        json_t *j = json_loadb((const char *)evbuffer_pullup(in, -1), len, JSON_DECODE_ANY, &e);
        if (!j) {
            evbuffer_free(event);
            return http_error(req, 400, "InvalidRequestContentException",
                              "Could not parse request body into json: %s", e.text);
        }
        json_decref(j);
        evbuffer_add_buffer(event, in);
    }
    if (!strcmp(type, "DryRun")) {
        evbuffer_free(event);
        return http_send(req, 204, NULL, 0);
    }
    const char *lt = evhttp_find_header(h, "X-Amz-Log-Type");
    if (!strcmp(type, "Event")) {
        char id[37];
        if (api_invoke_async(fn, event, id) < 0)
            return http_error(req, 500, "ServiceException", "the event could not be kept: %s",
                              store_last_error(D->store));
        evhttp_add_header(evhttp_request_get_output_headers(req), "X-Amzn-RequestId", id);
        return http_send(req, 202, NULL, 0);
    }
    answer_invoke(fn, SANDBOX_NAMESPACE, req, event, lt && !strcasecmp(lt, "Tail"), ANSWER_LAMBDA);
}
