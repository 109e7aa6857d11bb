#pragma once
/* The AWS Lambda API (routes_lambda.c): /2015-03-31/functions... and its
 * reserved concurrency; name is the FunctionName segment (a name or an
 * ARN). The resources it shares with the REST API are in rest/rest.h. */
#include <event2/http.h>
#include <stdbool.h>

#include "api/route.h"

void lambda_list(struct evhttp_request *req);
void lambda_create(struct evhttp_request *req);
void lambda_get(struct evhttp_request *req, const char *name, bool with_code);
void lambda_delete(struct evhttp_request *req, const char *name);
void lambda_update(struct evhttp_request *req, const char *name, bool code);
void lambda_invoke(struct evhttp_request *req, const char *name);
/* Get/Put/DeleteFunctionConcurrency: the function's concurrency. */
void lambda_concurrency(struct evhttp_request *req, const char *name, enum route_id id);
