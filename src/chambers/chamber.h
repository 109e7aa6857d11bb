#pragma once
/* impulse's chambers: a long-lived instance of one stored version of a
 * function, serving HTTP on a port of its own on 127.0.0.1.
 *
 *   client ──▶ 127.0.0.1:<port>  (from --chamber-ports)
 *                │ mode "http": bytes forwarded as they are to 127.0.0.1:8000
 *                │              inside the chamber's sandbox (its own netns)
 *                │ mode "handler": each request becomes an API Gateway v2
 *                ▼              event for the chamber's instance
 *              the chamber's one instance (a pinned function: never reaped,
 *              never replaced; when it dies the chamber is FAILED or STOPPED)
 *
 * The port is bound when the chamber is made and answered only once the
 * instance is ready (its server answers on 8000, or its runtime asked for
 * work): then the status turns from STARTING to RUNNING. */
#include <jansson.h>
#include <stdbool.h>

#include "store/function.h"

typedef struct chamber chamber_t;

enum { CHAMBERS_MAX = 256, CHAMBER_CONNS_MAX = 512 };

/* The port range chambers get ports from (--chamber-ports LO-HI). */
void chambers_configure(int port_lo, int port_hi);
/* Starts a chamber of cfg (a stored version, its task_key set). spec is
 * {app, version, runtime} as the client gave it. Returns the chamber, or
 * NULL with an HTTP status and message in *status / err. */
chamber_t *chamber_start(const fn_config_t *cfg, json_t *spec, int *status, char *err, size_t errlen);
chamber_t *chamber_find(const char *id);
json_t *chamber_json(const chamber_t *c);
json_t *chambers_json(void);
/* Stops its instance, frees its port and forgets it. */
void chamber_destroy(chamber_t *c);
/* Shutdown: closes every chamber's port (instances are stopped by the pool). */
void chambers_shutdown(void);

/* impulse's routes, /chambers and /chambers/{id} (routes_chambers.c). */
struct evhttp_request;
void api_chambers_list(struct evhttp_request *req);
void api_chambers_create(struct evhttp_request *req);
void api_chamber_get(struct evhttp_request *req, const char *id);
void api_chamber_delete(struct evhttp_request *req, const char *id);
