#pragma once
/* The event a Lambda behind an HTTP API or function URL receives (payload
 * version 2.0), from an HTTP request: used by the router and for HTTP-server
 * functions. rest is the path the function sees. */
#include <event2/http.h>
#include <stdbool.h>

struct evbuffer *apigw_event(struct evhttp_request *req, const char *rest, const char *domain,
                             const char *request_id);

/* Whether a body of this Content-Type travels as text in an event (else
 * base64): text/..., JSON, XML, JavaScript, form data, GraphQL, YAML. */
bool apigw_text_type(const char *content_type);
