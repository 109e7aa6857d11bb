/* The AWS Lambda Runtime API (2018-06-01) of one instance, served by the
 * daemon's loop on the sockets that the sandbox's init made inside the
 * sandbox (127.0.0.1:9001 in its network namespace, and the Unix socket
 * /run/impuls-runtime-api.sock on its own /run; one connection limit for both).
 *   GET  /2018-06-01/runtime/invocation/next
 *   POST /2018-06-01/runtime/invocation/{id}/response
 *   POST /2018-06-01/runtime/invocation/{id}/error
 *   POST /2018-06-01/runtime/init/error
 * One extension for Impuls's own runtimes: a response or error posted with
 * the header `Impuls-Next: 1` is also that runtime's next /next. Its answer is
 * the next event (or, if the post was refused, the refusal), so a warm call
 * costs the runtime one exchange instead of two (docs/runtimes.md). */
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "http/conn_limit.h"
#include "http/http_util.h"
#include "pool/internal.h"
#include "util/log.h"
#include "util/utf8.h"
#include "util/util.h"

#define PREFIX "/2018-06-01/runtime/"
/* Lambda's limit on a response; bodies up to RAPI_MAX_BODY are read (and
 * refused with a clear error) so that the runtime keeps its connection.
 * What one instance can make the daemon hold is bounded: RAPI_MAX_CONNS
 * connections, each with at most RAPI_MAX_BODY, each cut after
 * RAPI_TIMEOUT_S without progress. A parked /next is not subject to it. */
enum {
    RESPONSE_MAX = 6 * 1024 * 1024,
    RAPI_MAX_BODY = 8 * 1024 * 1024,
    RAPI_MAX_CONNS = 4,
    RAPI_TIMEOUT_S = 30,
};

static void status_ok(struct evhttp_request *req)
{
    http_json(req, 202, json_pack("{s:s}", "status", "OK"));
}

/* A /next: parked until work comes, or refused if one is pending already. */
static void next_or_refuse(instance_t *inst, struct evhttp_request *req)
{
    if (inst->inv || inst->parked_next) { /* 403 as Lambda's runtime API answers it */
        http_error(req, 403, "InvalidStateTransition",
                   "a /next is already pending or an invocation has no response yet");
        return;
    }
    instance_next(inst, req);
}

/* The post carries `Impuls-Next: 1`: answered by the next event, not 202. */
static bool wants_next(struct evhttp_request *req)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), "Impuls-Next");
    return v && !strcmp(v, "1");
}

static void on_invocation_post(instance_t *inst, struct evhttp_request *req, const char *rest)
{
    /* rest = "{id}/response" or "{id}/error" */
    const char *slash = strchr(rest, '/');
    invocation_t *inv = inst->inv;
    if (!slash || (strcmp(slash, "/response") && strcmp(slash, "/error"))) {
        http_error(req, 404, "UnknownRoute", "no such Runtime API route");
        return;
    }
    size_t idlen = (size_t)(slash - rest);
    if (!inv || idlen != strlen(inv->id) || strncmp(rest, inv->id, idlen)) {
        http_error(req, 400, "InvalidRequestID", "no invocation with this request id is in progress");
        return;
    }
    size_t len = evbuffer_get_length(evhttp_request_get_input_buffer(req));
    if (len > RESPONSE_MAX) {
        char msg[128];
        snprintf(msg, sizeof msg, "Response payload size (%zu bytes) exceeded maximum allowed payload size (%d bytes).",
                 len, RESPONSE_MAX);
        http_error(req, 413, "RequestEntityTooLarge", "%s", msg);
        invocation_respond_error(inv, 502, "Function.ResponseSizeTooLarge", msg, NULL);
        return;
    }
    char *body = http_body(req, &len);
    bool then_next = wants_next(req);
    if (!then_next)
        status_ok(req);
    if (!strcmp(slash, "/response")) {
        invocation_respond_result(inv, body, len);
    } else {
        const char *type = evhttp_find_header(evhttp_request_get_input_headers(req),
                                              "Lambda-Runtime-Function-Error-Type");
        invocation_respond_function_error(inv, body, len, type);
    }
    free(body);
    /* The call is answered and the instance released (or retired, then it
     * is dying and the post is left unanswered as a /next would be). */
    if (then_next)
        next_or_refuse(inst, req);
}

static void dispatch(struct evhttp_request *req, void *arg)
{
    instance_t *inst = arg;
    const char *uri = evhttp_request_get_uri(req);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (inst->state == INST_DYING) {
        http_error(req, 410, "InstanceStopping", "this instance is being stopped");
        return;
    }
    if (strncmp(uri, PREFIX, strlen(PREFIX)) != 0) {
        http_error(req, 404, "UnknownRoute", "no such Runtime API route");
        return;
    }
    const char *path = uri + strlen(PREFIX);
    if (!strcmp(path, "invocation/next")) {
        if (cmd != EVHTTP_REQ_GET) {
            http_error(req, 405, "MethodNotAllowed", "use GET");
            return;
        }
        next_or_refuse(inst, req);
        return;
    }
    if (strncmp(path, "invocation/", 11) && strcmp(path, "init/error")) {
        http_error(req, 404, "UnknownRoute", "no such Runtime API route");
        return;
    }
    if (cmd != EVHTTP_REQ_POST) {
        http_error(req, 405, "MethodNotAllowed", "use POST");
        return;
    }
    if (!strncmp(path, "invocation/", 11)) {
        on_invocation_post(inst, req, path + 11);
        return;
    }
    if (!strcmp(path, "init/error")) {
        if (inst->state != INST_STARTING) {
            http_error(req, 403, "InvalidStateTransition", "init/error after init is done");
            return;
        }
        size_t len;
        char *body = http_body(req, &len);
        json_t *e = json_loadb(body, len, 0, NULL);
        if (!json_is_object(e) || !json_is_string(json_object_get(e, "errorType"))) {
            json_decref(e);
            const char *type = evhttp_find_header(evhttp_request_get_input_headers(req),
                                                  "Lambda-Runtime-Function-Error-Type");
            char *t = utf8_sanitize(type ? type : "Runtime.InitError", strlen(type ? type : "Runtime.InitError"), 256);
            char *m = utf8_sanitize(body, len, 4096);
            e = json_object();
            json_object_set_new(e, "errorType", json_string(t));
            json_object_set_new(e, "errorMessage", json_string(m));
            free(t);
            free(m);
        }
        json_decref(inst->init_error);
        inst->init_error = e;
        free(body);
        status_ok(req);
        return;
    }
    http_error(req, 404, "UnknownRoute", "no such Runtime API route");
}

/* Adds a listening socket to the instance's Runtime API. */
static void serve_socket(instance_t *inst, struct evhttp *h, int fd)
{
    evutil_make_socket_nonblocking(fd); /* libevent's listener expects it */
    struct evhttp_bound_socket *bound = evhttp_accept_socket_with_handle(h, fd);
    if (!bound) {
        log_error("runtime api: cannot serve the instance socket");
        close(fd);
    } else if (!inst->rapi_conns) {
        inst->rapi_conns = conn_limit_install(h, bound, RAPI_MAX_CONNS);
    } else {
        conn_limit_add(inst->rapi_conns, bound); /* one limit for both */
    }
}

struct evhttp *runtime_api_start(instance_t *inst, int tcp_fd, int unix_fd)
{
    tcp_nodelay(tcp_fd);
    struct evhttp *h = evhttp_new(D->base);
    evhttp_set_timeout(h, RAPI_TIMEOUT_S);
    evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    evhttp_set_max_body_size(h, RAPI_MAX_BODY);
    evhttp_set_max_headers_size(h, 16384);
    evhttp_set_gencb(h, dispatch, inst);
    serve_socket(inst, h, tcp_fd);
    if (unix_fd >= 0)
        serve_socket(inst, h, unix_fd);
    return h;
}
