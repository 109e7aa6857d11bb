#pragma once
/* The public HTTP API: route table and handlers. */
#include <event2/http.h>
#include <stdbool.h>

#include "api/route.h"

struct fn;
struct json_t;

/* Binds addr ("HOST:PORT") and serves the API on D->base, with at most
 * max_connections client connections open at once. */
struct evhttp *api_start(const char *addr, int max_connections, char *err, size_t errlen);

extern struct conn_limit *api_conns; /* the public listener's connections */

/* Route handlers; name is the {name} path segment, already validated. */
void api_health(struct evhttp_request *req);
void api_runtimes(struct evhttp_request *req);
void api_functions_list(struct evhttp_request *req);
void api_functions_create(struct evhttp_request *req);
void api_function_get(struct evhttp_request *req, const char *name);
void api_function_update(struct evhttp_request *req, const char *name);
void api_function_delete(struct evhttp_request *req, const char *name);
void api_function_invoke(struct evhttp_request *req, const char *name);
void api_function_logs(struct evhttp_request *req, const char *name);
void api_function_instances(struct evhttp_request *req, const char *name);
void api_function_versions(struct evhttp_request *req, const char *name);
/* Removes code (and its dir) nothing refers to any more; a store callback. */
void api_collect_code(const char *code_sha256, const char *task_key, void *arg);

/* Invokes fn with the request as its event (shaped by the function's style). */
void api_invoke(struct evhttp_request *req, struct fn *fn);
/* Glambdar's routes: POST /deploy, POST /invoke/{name}, GET /info[/{name}],
 * DELETE /del/{name}. */
void api_glambdar_deploy(struct evhttp_request *req);
/* Creates (as a Glambdar function) or replaces the code of `name` with zip. */
void api_deploy_zip(struct evhttp_request *req, const char *name, const void *zip, size_t len);

/* The router's hosts: GET /api/v1/router, PUT/DELETE /api/v1/router/hosts/{host}. */
void api_router(struct evhttp_request *req);
void api_router_host(struct evhttp_request *req, const char *host, bool add);
/* impulse's chambers: /chambers and /chambers/{id} (routes_chambers.c). */
void api_chambers_list(struct evhttp_request *req);
void api_chambers_create(struct evhttp_request *req);
void api_chamber_get(struct evhttp_request *req, const char *id);
void api_chamber_delete(struct evhttp_request *req, const char *id);

/* The AWS Lambda API (routes_lambda.c); name is the FunctionName segment. */
void lambda_list(struct evhttp_request *req);
void lambda_create(struct evhttp_request *req);
void lambda_get(struct evhttp_request *req, const char *name, bool with_code);
void lambda_delete(struct evhttp_request *req, const char *name);
void lambda_update(struct evhttp_request *req, const char *name, bool code);
void lambda_invoke(struct evhttp_request *req, const char *name);
/* The function a Lambda route names (a name or an ARN; only the qualifier
 * $LATEST), or NULL after a 404 in Lambda's words. */
struct fn *lambda_find(struct evhttp_request *req, const char *given);

/* A function's Event invocations (routes_events.c): its event invoke config
 * through either API (id: which route), its dead letters (id: one letter's,
 * "" for all). */
void api_event_config(struct evhttp_request *req, const char *name, enum route_id id);
void lambda_event_config(struct evhttp_request *req, const char *name, enum route_id id);
/* Lambda's Get/Put/DeleteFunctionConcurrency: the function's concurrency
 * (routes_lambda.c). */
void lambda_concurrency(struct evhttp_request *req, const char *name, enum route_id id);
void api_dead_letters(struct evhttp_request *req, const char *name, const char *id);
void api_dead_letters_delete(struct evhttp_request *req, const char *name, const char *id);
void api_dead_letters_replay(struct evhttp_request *req, const char *name, const char *id);
/* Published versions and aliases (routes_versions.c): publish (REST or
 * Lambda), Lambda's version list, delete a published version (REST: the
 * function checked first), and the alias routes of both APIs (route says
 * which; alias: the one named, or ""). */
void api_publish(struct evhttp_request *req, const char *name, bool lambda);
void lambda_versions(struct evhttp_request *req, const char *name);
void api_version_delete(struct evhttp_request *req, const char *name, const char *which);
void api_version_delete_rest(struct evhttp_request *req, const char *name, const char *which);
void api_aliases(struct evhttp_request *req, const char *name, const char *alias, enum route_id route);
/* Provisioned concurrency (provisioned.c): the routes of both APIs; the
 * instances each live version of name keeps, from its configs and its
 * aliases' (after a change of either); and all of them at start. */
void api_provisioned(struct evhttp_request *req, const char *name, const char *qualifier, enum route_id route);
void api_provisioned_sync(const char *name);
void api_provisioned_start(void);
/* A function's schedules (routes_schedules.c): the list or one (id; "" for
 * the list), by route; and the test clock (POST /api/v1/test/clock). */
void api_schedules(struct evhttp_request *req, const char *name, const char *id, enum route_id route);
void api_test_clock(struct evhttp_request *req);
/* Its Event invocations in figures: {"queued": kept and not done,
 * "oldest_age_ms": the oldest's wait or null, "dead_letters", "dropped"}. */
struct json_t *api_event_figures(const char *name);
/* Starts a create (name NULL) or update of a function from a spec in the
 * REST API's fields; answers when done (Lambda-shaped on Lambda routes). */
void api_write(struct evhttp_request *req, struct json_t *spec, bool create, const char *name);

/* The request body as JSON, or NULL after answering 400/500. */
struct json_t *api_json_body(struct evhttp_request *req);
/* The same, and it must be an object (else 400 "request body must be a JSON object"). */
struct json_t *api_json_object_body(struct evhttp_request *req);
void api_not_found(struct evhttp_request *req, const char *name);

/* Query parameter of the request, or NULL. Copies into buf. */
const char *api_query(struct evhttp_request *req, const char *key, char *buf, size_t size);
