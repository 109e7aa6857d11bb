#pragma once
/* The router: a second listener that routes by Host and path as SmolFaaS's
 * Caddy did. http://<host>/invoke/<name>[/rest] invokes the function with an
 * API Gateway v2 (HTTP API) event; /health answers "Impuls Router OK". */
#include <event2/http.h>

struct evhttp *router_start(const char *addr, const char *host, char *err, size_t errlen);
