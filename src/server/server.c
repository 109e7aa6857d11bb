/* The API listener. Paths are those of the original Impuls (/api/v1/...,
 * see route.c). Unknown paths are 404, known paths with a wrong method 405
 * with an Allow header; every answer of ours is JSON (libevent's own 413 for
 * an oversized body and 400 for an unparsable request are HTML). */
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "chambers/chamber.h"
#include "console/console.h"
#include "glambdar/glambdar.h"
#include "lambda/lambda.h"
#include "rest/rest.h"
#include "router/router.h"
#include "server/server.h"
#include "api/auth.h"
#include "api/fn_spec.h"
#include "api/lambda_shape.h"
#include "api/route.h"
#include "api/sigv4.h"
#include "http/conn_limit.h"
#include "http/http_util.h"
#include "net/egress.h"
#include "pool/pool.h"
#include "sandbox/microvm.h"
#include "pool/daemon.h"
#include "util/log.h"
#include "util/util.h"

enum { API_MAX_BODY = 50 * 1024 * 1024, API_MAX_HEADERS = 64 * 1024, API_TIMEOUT_S = 60 };

static void method_not_allowed(struct evhttp_request *req, const char *allow)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
    http_error(req, 405, "MethodNotAllowed", "method not allowed here; allowed: %s", allow);
}

static void dispatch(struct evhttp_request *req, void *arg)
{
    route_t r;
    route_match(evhttp_request_get_command(req),
                evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req)), &r);
    /* The Lambda API's routes by what they are as well as by how the path
     * is spelled (a percent-encoded one is the same route); under --auth
     * tokens a bearer token stands in for a signature. */
    char key_scope[8];
    const char *signed_scope = NULL;
    const char *authz = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    bool bearer = auth_enabled() && authz && !strncasecmp(authz, "Bearer ", 7);
    if (sigv4_enabled() && (route_is_lambda(r.id) || lambda_request(req)) && !bearer) {
        const char *type;
        char msg[256];
        if (sigv4_check(req, &type, msg, sizeof msg, key_scope) < 0)
            return http_error(req, 403, type, "%s", msg);
        signed_scope = key_scope;
    }
    if (!auth_allow(req, &r, signed_scope))
        return;
    switch (r.id) {
    case ROUTE_NOT_FOUND: return http_error(req, 404, "NotFound", "no such route");
    case ROUTE_BAD_NAME:
        return http_error(req, 400, "InvalidParameterValueException",
                          "function name must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$");
    case ROUTE_BAD_METHOD: return method_not_allowed(req, r.allow);
    case ROUTE_HEALTH: return api_health(req);
    case ROUTE_RUNTIMES: return api_runtimes(req);
    case ROUTE_FN_LIST: return api_functions_list(req);
    case ROUTE_FN_CREATE: return api_functions_create(req);
    case ROUTE_FN_GET: return api_function_get(req, r.name);
    case ROUTE_FN_UPDATE: return api_function_update(req, r.name);
    case ROUTE_FN_DELETE: return api_function_delete(req, r.name);
    case ROUTE_FN_INVOKE: return api_function_invoke(req, r.name);
    case ROUTE_FN_LOGS: return api_function_logs(req, r.name);
    case ROUTE_FN_INSTANCES: return api_function_instances(req, r.name);
    case ROUTE_FN_VERSIONS: return api_function_versions(req, r.name);
    case ROUTE_FIGURES: return api_figures(req);
    case ROUTE_FN_FIGURES: return api_function_figures(req, r.name);
    case ROUTE_CONSOLE: return console_file(req, r.name);
    case ROUTE_GL_DEPLOY: return api_glambdar_deploy(req);
    case ROUTE_ROUTER: return api_router(req);
    case ROUTE_ROUTER_HOST_PUT: return api_router_host(req, r.name, true);
    case ROUTE_ROUTER_HOST_DELETE: return api_router_host(req, r.name, false);
    case ROUTE_CH_LIST: return api_chambers_list(req);
    case ROUTE_CH_CREATE: return api_chambers_create(req);
    case ROUTE_CH_GET: return api_chamber_get(req, r.name);
    case ROUTE_CH_DELETE: return api_chamber_delete(req, r.name);
    case ROUTE_L_LIST: return lambda_list(req);
    case ROUTE_L_CREATE: return lambda_create(req);
    case ROUTE_L_GET: return lambda_get(req, r.name, true);
    case ROUTE_L_GET_CONFIG: return lambda_get(req, r.name, false);
    case ROUTE_L_DELETE: return lambda_delete(req, r.name);
    case ROUTE_L_UPDATE_CONFIG: return lambda_update(req, r.name, false);
    case ROUTE_L_UPDATE_CODE: return lambda_update(req, r.name, true);
    case ROUTE_L_INVOKE: return lambda_invoke(req, r.name);
    case ROUTE_L_EVENT_CONFIG_GET:
    case ROUTE_L_EVENT_CONFIG_PUT:
    case ROUTE_L_EVENT_CONFIG_UPDATE:
    case ROUTE_L_EVENT_CONFIG_DELETE:
    case ROUTE_L_EVENT_CONFIG_LIST: return lambda_event_config(req, r.name, r.id);
    case ROUTE_L_CONCURRENCY_GET:
    case ROUTE_L_CONCURRENCY_PUT:
    case ROUTE_L_CONCURRENCY_DELETE: return lambda_concurrency(req, r.name, r.id);
    case ROUTE_FN_EVENT_CONFIG_GET:
    case ROUTE_FN_EVENT_CONFIG_PUT:
    case ROUTE_FN_EVENT_CONFIG_DELETE: return api_event_config(req, r.name, r.id);
    case ROUTE_FN_DEAD_LETTERS: return api_dead_letters(req, r.name, r.sub);
    case ROUTE_FN_DEAD_LETTERS_DELETE: return api_dead_letters_delete(req, r.name, r.sub);
    case ROUTE_FN_DEAD_LETTERS_REPLAY: return api_dead_letters_replay(req, r.name, r.sub);
    case ROUTE_FN_SCHEDULES:
    case ROUTE_FN_SCHEDULE_PUT:
    case ROUTE_FN_SCHEDULE_DELETE: return api_schedules(req, r.name, r.sub, r.id);
    case ROUTE_TEST_CLOCK: return api_test_clock(req);
    case ROUTE_METRICS: return api_metrics(req);
    case ROUTE_FN_PUBLISH: return api_publish(req, r.name, false);
    case ROUTE_L_PUBLISH: return api_publish(req, r.name, true);
    case ROUTE_L_VERSIONS: return lambda_versions(req, r.name);
    case ROUTE_FN_VERSION_DELETE: return api_version_delete_rest(req, r.name, r.sub);
    case ROUTE_FN_ALIASES:
    case ROUTE_FN_ALIAS_CREATE:
    case ROUTE_FN_ALIAS_PUT:
    case ROUTE_FN_ALIAS_DELETE:
    case ROUTE_L_ALIASES:
    case ROUTE_L_ALIAS_CREATE:
    case ROUTE_L_ALIAS_UPDATE:
    case ROUTE_L_ALIAS_DELETE: return api_aliases(req, r.name, r.sub, r.id);
    case ROUTE_FN_PROVISIONED:
    case ROUTE_FN_PROVISIONED_PUT:
    case ROUTE_FN_PROVISIONED_DELETE:
    case ROUTE_L_PROVISIONED_GET:
    case ROUTE_L_PROVISIONED_PUT:
    case ROUTE_L_PROVISIONED_DELETE: return api_provisioned(req, r.name, r.sub, r.id);
    case ROUTE_TOKEN_LIST: return api_tokens_list(req);
    case ROUTE_TOKEN_CREATE: return api_tokens_create(req);
    case ROUTE_TOKEN_DELETE: return api_token_delete(req, r.name);
    }
}

conn_limit_t *api_conns;

struct evhttp *api_start(const char *addr, int max_connections, char *err, size_t errlen)
{
    char host[256];
    snprintf(host, sizeof host, "%s", addr);
    char *colon = strrchr(host, ':');
    if (!colon) {
        snprintf(err, errlen, "address '%s' must be HOST:PORT", addr);
        return NULL;
    }
    *colon = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535) {
        snprintf(err, errlen, "bad port in '%s'", addr);
        return NULL;
    }
    http_set_error_shape(lambda_error_shape); /* (the Lambda API's errors are Lambda's) */
    struct evhttp *h = evhttp_new(D->base);
    evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                      EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD | EVHTTP_REQ_PATCH |
                                      EVHTTP_REQ_OPTIONS);
    /* Over-large bodies are refused from Content-Length, before reading them. */
    evhttp_set_max_body_size(h, API_MAX_BODY);
    evhttp_set_max_headers_size(h, API_MAX_HEADERS);
    evhttp_set_timeout(h, API_TIMEOUT_S);
    evhttp_set_gencb(h, dispatch, NULL);
    struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(h, host, (ev_uint16_t)port);
    if (!bound) {
        snprintf(err, errlen, "cannot listen on %s", addr);
        evhttp_free(h);
        return NULL;
    }
    tcp_nodelay(evhttp_bound_socket_get_fd(bound));
    api_conns = conn_limit_install(h, bound, max_connections);
    return h;
}

void api_health(struct evhttp_request *req)
{
    json_t *egress = egress_available() ? json_pack("{s:b}", "available", 1)
                                        : json_pack("{s:b, s:s}", "available", 0, "why", egress_why());
    http_json(req, D->draining ? 503 : 200,
              json_pack("{s:s, s:s, s:o, s:o, s:s, s:i, s:i, s:i, s:{s:i, s:i, s:i}}", "status",
                        D->draining ? "draining" : "ok", "isolation", sandbox_backend_name(D->cfg.isolation),
                        "microvm", api_microvm_json(), "egress", egress, "cgroup",
                        cgroup_version_name(cgroup_version()), "instances", pool_instance_count(), "inflight",
                        D->n_inflight, "connections", conn_limit_open(api_conns), "premade", "nodejs",
                        shells_ready("nodejs"), "python", shells_ready("python"), "csharp", shells_ready("csharp")));
}
