#pragma once
/* How a function's result becomes an HTTP response (pure; unit tested), for
 * every front end that answers with it (REST invoke, router, chambers):
 *   {statusCode, headers?, cookies?, body?, isBase64Encoded?} -> that response
 *     (API Gateway's payload 2.0 answer; each cookie a Set-Cookie header)
 *   a JSON string, where the call came as an API Gateway event (apigw)
 *                                                  -> 200, the string as body
 *   anything else (valid JSON)                      -> 200, the JSON itself
 *   not JSON, or a bad statusCode/headers/cookies/body -> malformed (502)
 * Header values are strings, but Set-Cookie's, an array of them. */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct http_result {
    int status;
    json_t *headers; /* object of string values (Set-Cookie: an array); owned */
    char *body;      /* owned */
    size_t body_len;
    const char *error; /* set when the result is malformed: why */
} http_result_t;

/* Returns 0, or -1 with out->error set. */
int result_map(const char *body, size_t len, bool apigw, http_result_t *out);
void http_result_clear(http_result_t *r);

/* The JSON body of an error: {errorType, errorMessage, stackTrace, requestId}.
 * stack may be NULL (an empty trace). */
char *error_body(const char *type, const char *message, json_t *stack, const char *request_id);

/* An error the runtime reported (its JSON body, or anything): the status
 * (500 for the function's own errors, 502 for Runtime.* failures) and the
 * body to send. type_hint is Lambda-Runtime-Function-Error-Type, or NULL. */
int error_map(const char *body, size_t len, const char *type_hint, const char *request_id,
              char **out_body);

