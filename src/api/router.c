#include "api/router.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "api/api.h"
#include "api/apigw.h"
#include "api/fn_spec.h"
#include "api/http_util.h"
#include "pool/pool.h"
#include "util/base64.h"
#include "util/utf8.h"
#include "util/util.h"

enum { ROUTER_MAX_BODY = 6 * 1024 * 1024 };

static char router_host[256];

static bool host_matches(struct evhttp_request *req)
{
    const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
    if (!host)
        return false;
    size_t n = strlen(host);
    const char *colon = strrchr(host, ':');
    if (colon && !strchr(colon, ']'))
        n = (size_t)(colon - host);
    return n == strlen(router_host) && !strncasecmp(host, router_host, n);
}

static void dispatch(struct evhttp_request *req, void *arg)
{
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (!host_matches(req))
        return http_error(req, 404, "NotFound", "no site for this host (the router serves %s)", router_host);
    if (path && !strcmp(path, "/health")) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; charset=utf-8");
        return http_send(req, 200, "Impuls Router OK", 16);
    }
    if (!path || strncmp(path, "/invoke/", 8))
        return http_error(req, 404, "NotFound", "no such route: use /invoke/<function>[/path] or /health");
    const char *name_start = path + 8;
    const char *slash = strchr(name_start, '/');
    char name[FN_NAME_MAX + 2];
    size_t nlen = slash ? (size_t)(slash - name_start) : strlen(name_start);
    snprintf(name, sizeof name, "%.*s", (int)(nlen > FN_NAME_MAX + 1 ? FN_NAME_MAX + 1 : nlen), name_start);
    if (!fn_name_valid(name))
        return http_error(req, 400, "InvalidParameterValueException",
                          "function name must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$");
    fn_t *fn = registry_find(name);
    if (!fn)
        return api_not_found(req, name);
    if (D->draining)
        return http_error(req, 503, "ServiceUnavailable", "the daemon is shutting down");
    if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) > ROUTER_MAX_BODY)
        return http_error(req, 413, "RequestTooLargeException", "the request is larger than %d bytes", ROUTER_MAX_BODY);
    char id[37];
    uuid4(id);
    struct evbuffer *event = apigw_event(req, slash ? slash : "/", router_host, id);
    pool_invoke(fn, SANDBOX_NAMESPACE, req, event, false);
}

struct evhttp *router_start(const char *addr, const char *host, char *err, size_t errlen)
{
    snprintf(router_host, sizeof router_host, "%s", host);
    char h[256];
    snprintf(h, sizeof h, "%s", addr);
    char *colon = strrchr(h, ':');
    long port = colon ? strtol(colon + 1, NULL, 10) : -1;
    if (!colon || port < 0 || port > 65535) {
        snprintf(err, errlen, "router address '%s' must be HOST:PORT", addr);
        return NULL;
    }
    *colon = '\0';
    struct evhttp *http = evhttp_new(D->base);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                         EVHTTP_REQ_HEAD | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
    evhttp_set_max_body_size(http, ROUTER_MAX_BODY + 1);
    evhttp_set_max_headers_size(http, 64 * 1024);
    evhttp_set_timeout(http, 60);
    evhttp_set_gencb(http, dispatch, NULL);
    if (!evhttp_bind_socket_with_handle(http, h, (ev_uint16_t)port)) {
        snprintf(err, errlen, "cannot listen on %s", addr);
        evhttp_free(http);
        return NULL;
    }
    return http;
}
