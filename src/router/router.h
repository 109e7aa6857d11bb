#pragma once
/* The router: a second listener that routes by Host and path as SmolFaaS's
 * Caddy did. http://<host>/invoke/<name>[/rest] invokes the function with an
 * API Gateway v2 (HTTP API) event; /health answers "Impuls Router OK". */
#include <event2/http.h>

#include <jansson.h>
#include <stdbool.h>

/* The hosts served: flag_host (--router-host) and those kept in the store.
 * Call once the store is open, before router_start. */
void router_load_hosts(const char *flag_host);
struct evhttp *router_start(const char *addr, int max_connections, char *err, size_t errlen);
/* The same routes over TLS (router_tls_init first), and a plain-HTTP
 * listener that redirects every request to them (308). */
struct evhttp *router_start_https(const char *addr, int max_connections, char *err, size_t errlen);
struct evhttp *router_start_redirect(const char *addr, int max_connections, char *err, size_t errlen);
bool router_host_valid(const char *host);
/* Is host (no port) one the router serves? */
bool router_serves_host(const char *host);
/* {"addr": listening address or null, "hosts": [...]} */
json_t *router_info(void);
/* 1 added/removed, 0 nothing to do, -1 refused (err), -2 storage failure. */
int router_host_add(const char *host, char *err, size_t errlen);
int router_host_remove(const char *host, char *err, size_t errlen);

/* The router's hosts through the API (routes_router.c): GET /api/v1/router,
 * PUT/DELETE /api/v1/router/hosts/{host}. */
struct evhttp_request;
void api_router(struct evhttp_request *req);
void api_router_host(struct evhttp_request *req, const char *host, bool add);
