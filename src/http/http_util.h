#pragma once
/* Sending answers: the HTTP plumbing of every part that serves HTTP (the
 * front ends of api/, the Runtime API, the pool while it still answers its
 * callers). Knows no front end. */
#include <event2/http.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* evhttp_send_reply, but the answer is written at once: evhttp writes it
 * only when the socket next polls writable, a loop turn later (one more
 * epoll_wait and two epoll_ctl per answer, on every warm call twice). */
void http_reply(struct evhttp_request *req, int status, const char *reason, struct evbuffer *body);
void http_send(struct evhttp_request *req, int status, const char *body, size_t len);
/* Sends j as JSON and drops the reference. */
void http_json(struct evhttp_request *req, int status, json_t *j);
/* {"errorType": type, "errorMessage": message}, Content-Type application/json. */
void http_error(struct evhttp_request *req, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A front end whose errors take another shape (the Lambda API's) answers
 * with its own body for its requests: shape returns it (and may add
 * headers), or NULL for the plain {errorType, errorMessage}. One, set once
 * before serving. */
typedef json_t *(*http_error_shape_fn)(struct evhttp_request *req, int status, const char *type,
                                       const char *message);
void http_set_error_shape(http_error_shape_fn shape);
const char *http_reason(int status);
/* A header name of HTTP's token characters; one that frames the message or
 * is the platform's (X-Impuls-*); a value without CR or LF. And may a
 * function's answer carry this header (all three)? */
bool http_header_name_ok(const char *name);
bool http_header_reserved(const char *name);
bool http_header_value_ok(const char *value);
bool http_header_allowed(const char *name, const char *value);
/* Call before keeping a request unanswered past its handler (a parked /next,
 * an invocation waiting for its function, an upload being unpacked). */
void http_hold(struct evhttp_request *req);
/* The request's headers as a JSON object: names lower-cased (as Node and
 * API Gateway give them), values UTF-8, repeated headers joined with ','. */
json_t *http_headers_json(struct evhttp_request *req);
/* Reads the request body into a NUL-terminated malloc'd string. */
char *http_body(struct evhttp_request *req, size_t *len);
