#pragma once
/* The API's route table as a pure function of method and path (no I/O), so
 * it can be unit-tested and fuzzed on its own. */
#include <event2/http.h>

enum route_id {
    ROUTE_NOT_FOUND,  /* 404 */
    ROUTE_BAD_NAME,   /* 400: {name} is not a valid function name */
    ROUTE_BAD_METHOD, /* 405: allow says what is */
    ROUTE_HEALTH,
    ROUTE_RUNTIMES,
    ROUTE_FN_LIST,
    ROUTE_FN_CREATE,
    ROUTE_FN_GET,
    ROUTE_FN_UPDATE,
    ROUTE_FN_DELETE,
    ROUTE_FN_INVOKE,
    ROUTE_FN_LOGS,
    ROUTE_FN_INSTANCES,
    ROUTE_FN_VERSIONS,
    ROUTE_GL_DEPLOY, /* Glambdar: POST /deploy */
    ROUTE_ROUTER,    /* GET /api/v1/router */
    ROUTE_ROUTER_HOST_PUT, /* /api/v1/router/hosts/{host}; name holds the host */
    ROUTE_ROUTER_HOST_DELETE,
    ROUTE_CH_LIST, /* impulse: /chambers */
    ROUTE_CH_CREATE,
    ROUTE_CH_GET, /* /chambers/{id}; name holds the id */
    ROUTE_CH_DELETE,
    /* AWS Lambda API (/2015-03-31/functions...); name holds the raw
     * FunctionName segment (a name or an ARN), resolved by the handler. */
    ROUTE_L_LIST,
    ROUTE_L_CREATE,
    ROUTE_L_GET,
    ROUTE_L_DELETE,
    ROUTE_L_GET_CONFIG,
    ROUTE_L_UPDATE_CONFIG,
    ROUTE_L_UPDATE_CODE,
    ROUTE_L_INVOKE,
};

typedef struct route {
    enum route_id id;
    const char *allow; /* for ROUTE_BAD_METHOD */
    char name[256];    /* the {name}, {host} or {id} segment, percent-decoded */
} route_t;

/* path is the URI path without the query ("/api/v1/functions/x"). */
void route_match(enum evhttp_cmd_type method, const char *path, route_t *out);
