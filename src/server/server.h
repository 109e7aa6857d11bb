#pragma once
/* The API listener (server.c): every route of route.c dispatched to its
 * front end, after the auth check; and the health check. */
#include <event2/http.h>
#include <stddef.h>

/* Binds addr ("HOST:PORT") and serves the API on D->base, with at most
 * max_connections client connections open at once. */
struct evhttp *api_start(const char *addr, int max_connections, char *err, size_t errlen);

extern struct conn_limit *api_conns; /* the public listener's connections */

void api_health(struct evhttp_request *req);
/* GET /metrics (metrics.c), and the process's start, for its start time. */
void api_metrics(struct evhttp_request *req);
void metrics_mark_start(void);
