#pragma once
/* What every front end shares (src/api/): the request helpers, the write
 * path that creates and updates functions (routes_write.c), and the
 * function a Lambda route names. The front ends, each a folder of its own:
 * rest/ (Impuls's REST API), lambda/, glambdar/, chambers/, router/, and
 * events/ (Event invocations and schedules) below them; server/ dispatches
 * the API listener's routes to them. */
#include <event2/http.h>
#include <stdbool.h>

#include "api/route.h"

struct fn;
struct json_t;

/* The request body as JSON, or NULL after answering 400/500. */
struct json_t *api_json_body(struct evhttp_request *req);
/* The same, and it must be an object (else 400 "request body must be a JSON object"). */
struct json_t *api_json_object_body(struct evhttp_request *req);
/* 404 "function 'NAME' not found". */
void api_not_found(struct evhttp_request *req, const char *name);
/* Query parameter of the request, or NULL. Copies into buf. */
const char *api_query(struct evhttp_request *req, const char *key, char *buf, size_t size);

/* Removes code (and its dir) nothing refers to any more; a store callback. */
void api_collect_code(const char *code_sha256, const char *task_key, void *arg);

/* The write path (routes_write.c): POST /api/v1/functions, PUT
 * /api/v1/functions/{name}, and a create (name NULL) or update from a spec
 * in the REST API's fields, for every front end that writes; each answers
 * when done (Lambda-shaped on Lambda routes). */
void api_functions_create(struct evhttp_request *req);
void api_function_update(struct evhttp_request *req, const char *name);
void api_write(struct evhttp_request *req, struct json_t *spec, bool create, const char *name);
/* Creates (as a Glambdar function) or replaces the code of `name` with zip. */
void api_deploy_zip(struct evhttp_request *req, const char *name, const void *zip, size_t len);

/* The function a Lambda route names (a name or an ARN; only the qualifier
 * $LATEST), or NULL after a 404 in Lambda's words (lambda_shape.c). */
struct fn *lambda_find(struct evhttp_request *req, const char *given);
