/* The router's host names over the API: `impuls up -a HOST` adds one. */
#include <event2/http.h>

#include "api/api.h"
#include "router/router.h"
#include "http/http_util.h"
#include "util/log.h"

void api_router(struct evhttp_request *req) { http_json(req, 200, router_info()); }

void api_router_host(struct evhttp_request *req, const char *host, bool add)
{
    char err[256];
    int rc = add ? router_host_add(host, err, sizeof err) : router_host_remove(host, err, sizeof err);
    if (rc == -1)
        return http_error(req, add ? 400 : 409, add ? "InvalidParameterValueException" : "ResourceConflictException",
                          "%s", err);
    if (rc == -2)
        return http_error(req, 507, "StorageException", "%s", err);
    if (!add && rc == 0)
        return http_error(req, 404, "ResourceNotFoundException", "the router does not serve %s", host);
    if (rc == 1)
        log_info("router: %s %s", add ? "now serves" : "no longer serves", host);
    if (!add)
        return http_send(req, 204, NULL, 0);
    http_json(req, rc == 1 ? 201 : 200, router_info());
}
