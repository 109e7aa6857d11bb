#include "router/router.h"

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
#include "api/auth.h"
#include "api/fn_spec.h"
#include "api/invoke_answer.h"
#include "api/qualifier.h"
#include "router/router_tls.h"
#include "http/conn_limit.h"
#include "http/http_util.h"
#include "pool/pool.h"
#include "store/store.h"
#include "util/base64.h"
#include "util/utf8.h"
#include "util/util.h"

enum { ROUTER_MAX_BODY = 6 * 1024 * 1024 };

/* The host given with --router-host first, then those added through the API
 * (kept in the store). Compared without case and without a port. */
enum { ROUTER_HOSTS_MAX = 64, HOST_MAX = 253 };
static char hosts[ROUTER_HOSTS_MAX][HOST_MAX + 1];
static int n_hosts;
static char listen_addr[256];

static const char *matching_host(struct evhttp_request *req)
{
    const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
    if (!host)
        return NULL;
    size_t n = strlen(host);
    const char *colon = strrchr(host, ':');
    if (colon && !strchr(colon, ']'))
        n = (size_t)(colon - host);
    for (int i = 0; i < n_hosts; i++)
        if (n == strlen(hosts[i]) && !strncasecmp(host, hosts[i], n))
            return hosts[i];
    return NULL;
}

bool router_serves_host(const char *h)
{
    for (int i = 0; i < n_hosts; i++)
        if (!strcasecmp(hosts[i], h))
            return true;
    return false;
}

bool router_host_valid(const char *h)
{
    size_t n = strlen(h), label = 0;
    if (n == 0 || n > HOST_MAX || h[0] == '.' || h[0] == '-' || h[n - 1] == '.' || h[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c == '.') {
            if (label == 0 || h[i - 1] == '-' || h[i + 1] == '-')
                return false;
            label = 0;
        } else if (isalnum(c) || c == '-') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return true;
}

static int find_host(const char *h)
{
    for (int i = 0; i < n_hosts; i++)
        if (!strcasecmp(hosts[i], h))
            return i;
    return -1;
}

static void add_host(const char *h)
{
    if (n_hosts < ROUTER_HOSTS_MAX && find_host(h) < 0) {
        snprintf(hosts[n_hosts], sizeof hosts[0], "%s", h);
        for (char *p = hosts[n_hosts]; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        n_hosts++;
    }
}

void router_load_hosts(const char *flag_host)
{
    n_hosts = 0;
    add_host(flag_host);
    json_t *stored = store_router_hosts(D->store);
    size_t i;
    json_t *v;
    json_array_foreach(stored, i, v) add_host(json_string_value(v));
    json_decref(stored);
}

json_t *router_info(void)
{
    json_t *arr = json_array();
    for (int i = 0; i < n_hosts; i++)
        json_array_append_new(arr, json_string(hosts[i]));
    return json_pack("{s:s?, s:o}", "addr", listen_addr[0] ? listen_addr : NULL, "hosts", arr);
}

int router_host_add(const char *h, char *err, size_t errlen)
{
    if (!router_host_valid(h)) {
        snprintf(err, errlen, "host must be a DNS name: letters, digits, '-' and '.', at most %d characters",
                 HOST_MAX);
        return -1;
    }
    if (find_host(h) >= 0)
        return 0;
    if (n_hosts == ROUTER_HOSTS_MAX) {
        snprintf(err, errlen, "the router serves at most %d hosts", ROUTER_HOSTS_MAX);
        return -1;
    }
    char lower[HOST_MAX + 1];
    snprintf(lower, sizeof lower, "%s", h);
    for (char *p = lower; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (store_router_host_set(D->store, lower, true) == STORE_ERR) {
        snprintf(err, errlen, "cannot save the host: %s", store_last_error(D->store));
        return -2;
    }
    add_host(lower);
    return 1;
}

int router_host_remove(const char *h, char *err, size_t errlen)
{
    int i = find_host(h);
    if (i < 0)
        return 0;
    if (i == 0) {
        snprintf(err, errlen, "%s is the router's own host (--router-host); it cannot be removed", hosts[0]);
        return -1;
    }
    if (store_router_host_set(D->store, hosts[i], false) == STORE_ERR) {
        snprintf(err, errlen, "cannot save: %s", store_last_error(D->store));
        return -2;
    }
    memmove(hosts[i], hosts[i + 1], (size_t)(n_hosts - i - 1) * sizeof hosts[0]);
    n_hosts--;
    return 1;
}

static void dispatch(struct evhttp_request *req, void *arg)
{
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    const char *host = matching_host(req);
    if (!host)
        return http_error(req, 404, "NotFound", "no site for this host (the router serves %s%s)", hosts[0],
                          n_hosts > 1 ? " and others: GET /api/v1/router" : "");
    if (path && !strcmp(path, "/health")) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; charset=utf-8");
        return http_send(req, 200, "Impuls Router OK", 16);
    }
    if (!path || strncmp(path, "/invoke/", 8))
        return http_error(req, 404, "NotFound", "no such route: use /invoke/<function>[/path] or /health");
    /* /invoke/NAME[:QUALIFIER][/rest]: a version or an alias after a colon */
    const char *name_start = path + 8;
    const char *slash = strchr(name_start, '/');
    char name[FN_NAME_MAX + QUALIFIER_MAX + 3];
    size_t nlen = slash ? (size_t)(slash - name_start) : strlen(name_start);
    snprintf(name, sizeof name, "%.*s", (int)(nlen >= sizeof name ? sizeof name - 1 : nlen), name_start);
    char *colon = strchr(name, ':');
    if (colon)
        *colon = '\0';
    if (!fn_name_valid(name))
        return http_error(req, 400, "InvalidParameterValueException",
                          "function name must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$");
    resolved_t r;
    fn_t *fn = qualifier_resolve(name, colon ? colon + 1 : NULL, &r);
    if (!fn)
        return http_error(req, r.status, r.error_type, "%s", r.message);
    if (!strcmp(fn_cfg(fn)->auth, "token") && !auth_allow_url(req, fn_cfg(fn)->name))
        return;
    if (D->draining)
        return http_error(req, 503, "ServiceUnavailable", "the daemon is shutting down");
    if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) > ROUTER_MAX_BODY)
        return http_error(req, 413, "RequestTooLargeException", "the request is larger than %d bytes", ROUTER_MAX_BODY);
    /* An HTTP server gets the request itself and streams its answer back. */
    if (!strcmp(fn_cfg(fn)->mode, "http"))
        return answer_invoke_direct(fn, req, slash ? slash : "/");
    char id[37];
    uuid4(id);
    struct evbuffer *event = apigw_event(req, slash ? slash : "/", host, id);
    answer_invoke(fn, SANDBOX_NAMESPACE, req, event, false, ANSWER_APIGW);
}

/* The router's listeners: plain HTTP (--router-addr), HTTPS
 * (--router-https) and the plain-HTTP redirect to it (--router-http). */
static conn_limit_t *router_conns[3];
static int https_port = 443;

static int split_addr(const char *addr, char host[256], long *port, const char *what, char *err, size_t errlen)
{
    snprintf(host, 256, "%s", addr);
    char *colon = strrchr(host, ':');
    char *end = NULL;
    *port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || !end || *end || end == colon + 1 || *port < 0 || *port > 65535) {
        snprintf(err, errlen, "%s address '%s' must be HOST:PORT", what, addr);
        return -1;
    }
    *colon = '\0';
    return 0;
}

static struct evhttp *listen_http(const char *addr, int max_connections, const char *what, void (*cb)(struct evhttp_request *, void *),
                                  conn_bev_fn make_bev, int slot, char *err, size_t errlen)
{
    char h[256];
    long port;
    if (split_addr(addr, h, &port, what, err, errlen) < 0)
        return NULL;
    struct evhttp *http = evhttp_new(D->base);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                         EVHTTP_REQ_HEAD | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
    evhttp_set_max_body_size(http, ROUTER_MAX_BODY + 1);
    evhttp_set_max_headers_size(http, 64 * 1024);
    evhttp_set_timeout(http, 60);
    evhttp_set_gencb(http, cb, NULL);
    struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(http, h, (ev_uint16_t)port);
    if (!bound) {
        snprintf(err, errlen, "cannot listen on %s", addr);
        evhttp_free(http);
        return NULL;
    }
    tcp_nodelay(evhttp_bound_socket_get_fd(bound));
    router_conns[slot] = conn_limit_install_bev(http, bound, max_connections, make_bev, NULL);
    return http;
}

struct evhttp *router_start(const char *addr, int max_connections, char *err, size_t errlen)
{
    struct evhttp *http = listen_http(addr, max_connections, "router", dispatch, NULL, 0, err, errlen);
    if (http)
        snprintf(listen_addr, sizeof listen_addr, "%s", addr);
    return http;
}

struct evhttp *router_start_https(const char *addr, int max_connections, char *err, size_t errlen)
{
    char h[256];
    long port;
    if (split_addr(addr, h, &port, "--router-https", err, errlen) < 0)
        return NULL;
    https_port = (int)port;
    return listen_http(addr, max_connections, "--router-https", dispatch, router_tls_bev, 1, err, errlen);
}

/* Plain HTTP on --router-http: every request is sent to the same URL over
 * HTTPS with 308, which keeps the method and the body (curl -L, browsers). */
static void redirect(struct evhttp_request *req, void *arg)
{
    const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
    char name[HOST_MAX + 1];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(host ? host : "", ":"), host ? host : "");
    if (!router_host_valid(name))
        return http_error(req, 400, "BadRequest", "a Host header naming the site is needed for the redirect");
    const char *uri = evhttp_request_get_uri(req);
    char port[16] = "";
    if (https_port != 443)
        snprintf(port, sizeof port, ":%d", https_port);
    char *location = NULL;
    if (asprintf(&location, "https://%s%s%s", name, port, uri && *uri == '/' ? uri : "/") < 0)
        return http_error(req, 500, "ServiceException", "out of memory");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Location", location);
    free(location);
    http_send(req, 308, NULL, 0);
}

struct evhttp *router_start_redirect(const char *addr, int max_connections, char *err, size_t errlen)
{
    return listen_http(addr, max_connections, "--router-http", redirect, NULL, 2, err, errlen);
}
