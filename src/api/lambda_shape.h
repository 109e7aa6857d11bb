#pragma once
/* The AWS Lambda API's view of a function (FunctionConfiguration), its names
 * (ARNs) and runtime spellings, shared by routes_lambda.c and the write path. */
#include <event2/http.h>
#include <jansson.h>
#include <stdbool.h>

#include "store/function.h"
#include "util/lambda_arn.h"

/* The tag that sets a function's isolation through the Lambda API, and
 * that GetFunction reports it as. */
#define LAMBDA_ISOLATION_TAG "impuls:isolation"
#define LAMBDA_NETWORK_TAG "impuls:network"

/* Is this a request to the Lambda API (/2015-03-31/...)? Its answers and
 * errors then take Lambda's shapes. */
bool lambda_request(struct evhttp_request *req);
/* Is it Put/DeleteFunctionConcurrency (answered with the reserved
 * concurrency, not the configuration)? */
bool lambda_concurrency_request(struct evhttp_request *req);
/* GetFunctionConcurrency's answer: {"ReservedConcurrentExecutions": n}
 * when the function's concurrency is not the default, else {}. */
json_t *lambda_concurrency_json(const fn_config_t *c);
/* The error body of a Lambda API request (http_set_error_shape), else NULL. */
json_t *lambda_error_shape(struct evhttp_request *req, int status, const char *type, const char *message);
/* FunctionConfiguration of c ($LATEST). */
json_t *lambda_config_json(const fn_config_t *c);
/* FunctionConfiguration of c as published version c->version, with the
 * description it was published with. */
json_t *lambda_version_json(const fn_config_t *c, const char *description);
/* Lambda's time: 2026-11-25T12:00:00.123+0000. */
void lambda_time(char out[40], uint64_t ms);
/* Lambda's CodeSha256: the digest (hex) in base64. */
void lambda_sha_base64(const char *hex, char out[48]);
/* A function named by name, partial ARN (ACCOUNT:function:NAME) or ARN
 * (arn:aws:lambda:REGION:ACCOUNT:function:NAME), optionally with the
 * qualifier $LATEST. Writes the name; false when it names none of ours. */
bool lambda_function_name(const char *given, char out[FN_NAME_MAX + 1]);
