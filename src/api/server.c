/* The API listener and its route table. Paths are those of the original
 * Impuls (/api/v1/functions...). Unknown paths are 404, known paths with a
 * wrong method 405 with an Allow header; every answer is JSON. */
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/conn_limit.h"
#include "api/fn_spec.h"
#include "api/http_util.h"
#include "pool/daemon.h"
#include "util/log.h"

enum { API_MAX_BODY = 50 * 1024 * 1024, API_MAX_HEADERS = 64 * 1024, API_TIMEOUT_S = 60 };

const char *api_query(struct evhttp_request *req, const char *key, char *buf, size_t size)
{
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    if (!q)
        return NULL;
    struct evkeyvalq params;
    TAILQ_INIT(&params);
    if (evhttp_parse_query_str(q, &params) < 0)
        return NULL;
    const char *v = evhttp_find_header(&params, key);
    const char *out = NULL;
    if (v) {
        snprintf(buf, size, "%s", v);
        out = buf;
    }
    evhttp_clear_headers(&params);
    return out;
}

static void method_not_allowed(struct evhttp_request *req, const char *allow)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
    http_error(req, 405, "MethodNotAllowed", "method not allowed here; allowed: %s", allow);
}

/* Splits the path into at most 6 segments; returns how many, or -1. */
static int split_path(const char *path, char seg[6][256])
{
    int n = 0;
    const char *p = path;
    while (*p == '/')
        p++;
    while (*p) {
        if (n == 6)
            return -1;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len >= 256)
            return -1;
        char raw[256];
        memcpy(raw, p, len);
        raw[len] = '\0';
        size_t dlen = 0;
        char *dec = evhttp_uridecode(raw, 0, &dlen);
        if (!dec || strlen(dec) != dlen) { /* an encoded NUL */
            free(dec);
            return -1;
        }
        snprintf(seg[n++], 256, "%s", dec);
        free(dec);
        if (!end)
            break;
        p = end + 1;
    }
    return n;
}

static void dispatch(struct evhttp_request *req, void *arg)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    char seg[6][256];
    int n = path ? split_path(path, seg) : -1;
    if (n < 0) {
        http_error(req, 404, "NotFound", "no such route");
        return;
    }
    if (n == 1 && !strcmp(seg[0], "healthz")) {
        if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD)
            return method_not_allowed(req, "GET");
        return api_health(req);
    }
    if (n < 3 || strcmp(seg[0], "api") || strcmp(seg[1], "v1")) {
        http_error(req, 404, "NotFound", "no such route");
        return;
    }
    if (n == 3 && !strcmp(seg[2], "runtimes")) {
        if (m != EVHTTP_REQ_GET)
            return method_not_allowed(req, "GET");
        return api_runtimes(req);
    }
    if (strcmp(seg[2], "functions")) {
        http_error(req, 404, "NotFound", "no such route");
        return;
    }
    if (n == 3) {
        if (m == EVHTTP_REQ_GET)
            return api_functions_list(req);
        if (m == EVHTTP_REQ_POST)
            return api_functions_create(req);
        return method_not_allowed(req, "GET, POST");
    }
    const char *name = seg[3];
    if (!fn_name_valid(name)) {
        http_error(req, 400, "InvalidParameterValueException",
                   "function name must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$");
        return;
    }
    if (n == 4) {
        if (m == EVHTTP_REQ_GET)
            return api_function_get(req, name);
        if (m == EVHTTP_REQ_PUT)
            return api_function_update(req, name);
        if (m == EVHTTP_REQ_DELETE)
            return api_function_delete(req, name);
        return method_not_allowed(req, "GET, PUT, DELETE");
    }
    if (n == 5 && !strcmp(seg[4], "invoke")) {
        if (m != EVHTTP_REQ_POST)
            return method_not_allowed(req, "POST");
        return api_function_invoke(req, name);
    }
    if (n == 5 && !strcmp(seg[4], "logs")) {
        if (m != EVHTTP_REQ_GET)
            return method_not_allowed(req, "GET");
        return api_function_logs(req, name);
    }
    if (n == 5 && !strcmp(seg[4], "instances")) {
        if (m != EVHTTP_REQ_GET)
            return method_not_allowed(req, "GET");
        return api_function_instances(req, name);
    }
    http_error(req, 404, "NotFound", "no such route");
}

struct evhttp *api_start(const char *addr, int max_connections, char *err, size_t errlen)
{
    char host[256];
    snprintf(host, sizeof host, "%s", addr);
    char *colon = strrchr(host, ':');
    if (!colon) {
        snprintf(err, errlen, "address '%s' must be HOST:PORT", addr);
        return NULL;
    }
    *colon = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535) {
        snprintf(err, errlen, "bad port in '%s'", addr);
        return NULL;
    }
    struct evhttp *h = evhttp_new(D->base);
    evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                      EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD | EVHTTP_REQ_PATCH |
                                      EVHTTP_REQ_OPTIONS);
    /* Over-large bodies are refused from Content-Length, before reading them. */
    evhttp_set_max_body_size(h, API_MAX_BODY);
    evhttp_set_max_headers_size(h, API_MAX_HEADERS);
    evhttp_set_timeout(h, API_TIMEOUT_S);
    evhttp_set_gencb(h, dispatch, NULL);
    struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(h, host, (ev_uint16_t)port);
    if (!bound) {
        snprintf(err, errlen, "cannot listen on %s", addr);
        evhttp_free(h);
        return NULL;
    }
    conn_limit_install(h, bound, max_connections);
    return h;
}
