#pragma once
/* Impuls's REST API, /api/v1/... (src/rest/), and the handlers of the
 * resources Lambda's API shares with it (event invoke config, versions and
 * aliases, provisioned concurrency: the route says which API's shapes). */
#include <event2/http.h>
#include <stdbool.h>

#include "api/route.h"

struct fn;
struct json_t;

/* /api/v1/functions... (routes_functions.c); name is the {name} path
 * segment, already validated. */
void api_runtimes(struct evhttp_request *req);
/* Whether functions can have isolation "microvm" here (/healthz, /runtimes). */
struct json_t *api_microvm_json(void);
void api_functions_list(struct evhttp_request *req);
void api_function_get(struct evhttp_request *req, const char *name);
void api_function_delete(struct evhttp_request *req, const char *name);
void api_function_invoke(struct evhttp_request *req, const char *name);
void api_function_logs(struct evhttp_request *req, const char *name);
/* Lets the logs' followers go (shutdown; routes_logs.c). */
void api_logs_shutdown(void);
void api_function_instances(struct evhttp_request *req, const char *name);
void api_function_versions(struct evhttp_request *req, const char *name);
/* The daemon's recent figures (routes_figures.c): every function's now, and
 * one function's last hour by minute. */
void api_figures(struct evhttp_request *req);
void api_function_figures(struct evhttp_request *req, const char *name);
/* Invokes fn with the request as its event (shaped by the function's style). */
void api_invoke(struct evhttp_request *req, struct fn *fn);

/* A function's Event invocations (routes_events.c): its event invoke config
 * through either API (id: which route), its dead letters (id: one letter's,
 * "" for all). */
void api_event_config(struct evhttp_request *req, const char *name, enum route_id id);
void lambda_event_config(struct evhttp_request *req, const char *name, enum route_id id);
void api_dead_letters(struct evhttp_request *req, const char *name, const char *id);
void api_dead_letters_delete(struct evhttp_request *req, const char *name, const char *id);
void api_dead_letters_replay(struct evhttp_request *req, const char *name, const char *id);
/* Its Event invocations in figures: {"queued": kept and not done,
 * "oldest_age_ms": the oldest's wait or null, "dead_letters", "dropped"}. */
struct json_t *api_event_figures(const char *name);

/* Published versions and aliases (routes_versions.c): publish (REST or
 * Lambda), Lambda's version list, delete a published version (REST: the
 * function checked first), and the alias routes of both APIs (route says
 * which; alias: the one named, or ""). */
void api_publish(struct evhttp_request *req, const char *name, bool lambda);
void lambda_versions(struct evhttp_request *req, const char *name);
void api_version_delete(struct evhttp_request *req, const char *name, const char *which);
void api_version_delete_rest(struct evhttp_request *req, const char *name, const char *which);
void api_aliases(struct evhttp_request *req, const char *name, const char *alias, enum route_id route);

/* Provisioned concurrency (routes_provisioned.c): the routes of both APIs;
 * the instances each live version of name keeps, from its configs and its
 * aliases' (after a change of either); and all of them at start. */
void api_provisioned(struct evhttp_request *req, const char *name, const char *qualifier, enum route_id route);
void api_provisioned_sync(const char *name);
void api_provisioned_start(void);

/* A function's schedules (routes_schedules.c): the list or one (id; "" for
 * the list), by route; and the test clock (POST /api/v1/test/clock). */
void api_schedules(struct evhttp_request *req, const char *name, const char *id, enum route_id route);
void api_test_clock(struct evhttp_request *req);
