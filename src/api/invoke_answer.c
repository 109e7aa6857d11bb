/* An invocation's outcome as an HTTP answer (see the header). */
#include "api/invoke_answer.h"

#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/result.h"
#include "http/http_util.h"
#include "util/base64.h"

typedef struct answer {
    struct evhttp_request *req; /* NULL once its client has gone */
    struct evhttp_connection *conn;
    enum answer_style style;
} answer_t;

static void on_client_closed(struct evhttp_connection *conn, void *arg)
{
    answer_t *a = arg;
    if (a->conn == conn) { /* libevent frees the request with its connection */
        a->req = NULL;
        a->conn = NULL;
    }
}

/* Sends the answer: status, headers (an object of strings; Set-Cookie's an
 * array), body, and the invocation's own headers. */
static void send_answer(struct evhttp_request *req, enum answer_style style, const invoke_outcome_t *o, int status,
                        json_t *headers, const char *body, size_t len, const char *content_type)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    const char *k;
    json_t *v;
    json_object_foreach(headers, k, v)
    {
        size_t i;
        json_t *one;
        if (json_is_array(v)) /* Set-Cookie: one header each */
            json_array_foreach(v, i, one) evhttp_add_header(h, k, json_string_value(one));
        else
            evhttp_add_header(h, k, json_string_value(v));
    }
    if (content_type && !evhttp_find_header(h, "Content-Type"))
        evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "X-Impuls-Request-Id", o->request_id);
    char dur[32];
    snprintf(dur, sizeof dur, "%.3f", o->duration_ms);
    evhttp_add_header(h, "X-Impuls-Duration-Ms", dur);
    if (style == ANSWER_LAMBDA) {
        evhttp_add_header(h, "x-amzn-RequestId", o->request_id);
    }
    if (o->log_tail) {
        char *enc = malloc(o->log_tail_len / 3 * 4 + 8);
        if (enc) {
            base64_encode((const unsigned char *)o->log_tail, o->log_tail_len, enc);
            evhttp_add_header(h, style == ANSWER_LAMBDA ? "X-Amz-Log-Result" : "X-Impuls-Log-Result", enc);
            free(enc);
        }
    }
    http_send(req, status, body, len);
}

/* The Lambda Invoke API: a function or runtime error is still a 200, with
 * X-Amz-Function-Error and the error object as the payload. */
static void lambda_function_error(struct evhttp_request *req, const invoke_outcome_t *o, const char *body, size_t len)
{
    json_t *h = json_pack("{s:s}", "X-Amz-Function-Error", "Unhandled");
    send_answer(req, ANSWER_LAMBDA, o, 200, h, body, len, "application/json");
    json_decref(h);
}

static void answer_error(struct evhttp_request *req, enum answer_style style, const invoke_outcome_t *o, int status,
                         const char *type, const char *message, json_t *stack)
{
    json_t *none = json_object();
    if (style == ANSWER_LAMBDA && (status == 500 || status == 502 || status == 504)) {
        json_t *e = json_pack("{s:s, s:s, s:o}", "errorType", type, "errorMessage", message, "stackTrace",
                              stack ? json_incref(stack) : json_array());
        char *s = json_dumps(e, JSON_COMPACT);
        json_decref(e);
        lambda_function_error(req, o, s, strlen(s));
        free(s);
    } else if (style == ANSWER_LAMBDA) { /* not the function's doing: Lambda's error shape */
        json_t *h = json_pack("{s:s}", "x-amzn-ErrorType", status == 503 ? "ServiceException" : type);
        json_t *e = json_pack("{s:s, s:s}", "Type", status >= 500 ? "Service" : "User", "Message", message);
        char *s = json_dumps(e, JSON_COMPACT);
        json_decref(e);
        send_answer(req, style, o, status, h, s, strlen(s), "application/json");
        json_decref(h);
        free(s);
    } else {
        char *body = error_body(type, message, stack, o->request_id);
        send_answer(req, style, o, status, none, body, strlen(body), "application/json");
        free(body);
    }
    json_decref(none);
}

static void answer(struct evhttp_request *req, enum answer_style style, const invoke_outcome_t *o)
{
    json_t *none = json_object();
    if (o->kind == OUTCOME_ERROR) {
        answer_error(req, style, o, o->status, o->error_type, o->message, o->stack);
    } else if (o->kind == OUTCOME_FUNCTION_ERROR && style == ANSWER_LAMBDA) {
        lambda_function_error(req, o, o->body, o->len);
    } else if (o->kind == OUTCOME_FUNCTION_ERROR) {
        char *out;
        int status = error_map(o->body, o->len, o->error_type_header, o->request_id, &out);
        send_answer(req, style, o, status, none, out, strlen(out), "application/json");
        free(out);
    } else if (style == ANSWER_LAMBDA) { /* the payload as it is */
        send_answer(req, style, o, 200, none, o->body, o->len, "application/json");
    } else {
        http_result_t r;
        if (result_map(o->body, o->len, style == ANSWER_APIGW, &r) < 0) {
            answer_error(req, style, o, 502, "Runtime.MalformedResult", r.error, NULL);
        } else {
            send_answer(req, style, o, r.status, r.headers, r.body, r.body_len, NULL);
            http_result_clear(&r);
        }
    }
    json_decref(none);
}

static void on_done(const invoke_outcome_t *o, void *arg)
{
    answer_t *a = arg;
    if (a->req) { /* (its client may have gone: the call still ran to its end) */
        evhttp_connection_set_closecb(a->conn, NULL, NULL);
        answer(a->req, a->style, o);
    }
    free(a);
}

void answer_invoke(fn_t *fn, enum sandbox_backend backend, struct evhttp_request *req, struct evbuffer *event,
                   bool want_log_tail, enum answer_style style)
{
    answer_t *a = calloc(1, sizeof *a);
    if (!a) {
        evbuffer_free(event);
        return http_error(req, 500, "ServiceException", "out of memory");
    }
    a->req = req;
    a->conn = evhttp_request_get_connection(req);
    a->style = style;
    if (style == ANSWER_LAMBDA || fn_published(fn)) { /* (Lambda's header; a REST call of a version says it too) */
        char version[16] = "$LATEST";
        if (fn_published(fn))
            snprintf(version, sizeof version, "%d", fn_published(fn));
        evhttp_add_header(evhttp_request_get_output_headers(req), "X-Amz-Executed-Version", version);
    }
    http_hold(req);
    evhttp_connection_set_closecb(a->conn, on_client_closed, a);
    pool_invoke(fn, backend, event, want_log_tail, on_done, a);
}

static void on_direct_failed(const invoke_outcome_t *o, void *arg)
{
    answer(arg, ANSWER_REST, o); /* (the pool tells only while the client is there) */
}

void answer_invoke_direct(fn_t *fn, struct evhttp_request *req, const char *path)
{
    pool_invoke_direct(fn, req, path, on_direct_failed, req);
}
