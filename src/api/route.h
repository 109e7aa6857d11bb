#pragma once
/* The API's route table as a pure function of method and path (no I/O), so
 * it can be unit-tested and fuzzed on its own. */
#include <event2/http.h>
#include <stdbool.h>

enum route_id {
    ROUTE_NOT_FOUND,  /* 404 */
    ROUTE_BAD_NAME,   /* 400: {name} is not a valid function name */
    ROUTE_BAD_METHOD, /* 405: allow says what is */
    ROUTE_HEALTH,
    ROUTE_METRICS, /* GET /metrics: Prometheus's text format */
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
    /* /api/v1/functions/{name}/event-invoke-config */
    ROUTE_FN_EVENT_CONFIG_GET,
    ROUTE_FN_EVENT_CONFIG_PUT,
    ROUTE_FN_EVENT_CONFIG_DELETE,
    /* /api/v1/functions/{name}/dead-letters[/{id}[/replay]]; sub holds the id */
    ROUTE_FN_DEAD_LETTERS,        /* GET: the list, or the one with sub */
    ROUTE_FN_DEAD_LETTERS_DELETE, /* all, or the one with sub */
    ROUTE_FN_DEAD_LETTERS_REPLAY, /* POST .../dead-letters/replay: all; .../{id}/replay: that one */
    /* /api/v1/functions/{name}/schedules[/{id}]; sub holds the id */
    ROUTE_FN_SCHEDULES,       /* GET: the list, or the one with sub */
    ROUTE_FN_SCHEDULE_PUT,
    ROUTE_FN_SCHEDULE_DELETE,
    ROUTE_TEST_CLOCK, /* POST /api/v1/test/clock: only on a daemon started with --clock-offset */
    /* Published versions and aliases (store/versions.h); sub holds the
     * version's number or the alias's name */
    ROUTE_FN_PUBLISH,        /* POST .../publish */
    ROUTE_FN_VERSION_DELETE, /* DELETE .../versions/{n} */
    ROUTE_FN_ALIASES,        /* GET .../aliases: the list, or the one with sub */
    ROUTE_FN_ALIAS_CREATE,   /* POST .../aliases */
    ROUTE_FN_ALIAS_PUT,      /* PUT .../aliases/{alias} */
    ROUTE_FN_ALIAS_DELETE,
    /* /api/v1/functions/{name}/provisioned[/{qualifier}]; sub: the qualifier */
    ROUTE_FN_PROVISIONED, /* GET: the list, or the one with sub */
    ROUTE_FN_PROVISIONED_PUT,
    ROUTE_FN_PROVISIONED_DELETE,
    ROUTE_FIGURES,    /* GET /api/v1/figures: every function's figures now (the console's list) */
    ROUTE_FN_FIGURES, /* GET /api/v1/functions/{name}/figures: its last hour by minute */
    ROUTE_CONSOLE,    /* GET /console/[{file}]: the web console's static files; name holds the file */
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
    /* (/2019-09-25/functions/{name}/event-invoke-config[/list]) */
    ROUTE_L_EVENT_CONFIG_GET,
    ROUTE_L_EVENT_CONFIG_PUT,
    ROUTE_L_EVENT_CONFIG_UPDATE, /* POST: only the fields given change */
    ROUTE_L_EVENT_CONFIG_DELETE,
    ROUTE_L_EVENT_CONFIG_LIST,
    /* (/2017-10-31/functions/{name}/concurrency: PUT, DELETE; /2019-09-30/...: GET) */
    ROUTE_L_CONCURRENCY_GET,
    ROUTE_L_CONCURRENCY_PUT,
    ROUTE_L_CONCURRENCY_DELETE,
    /* (/2015-03-31/functions/{name}/versions, .../aliases[/{alias}]; sub: the alias) */
    ROUTE_L_VERSIONS,
    ROUTE_L_PUBLISH,
    ROUTE_L_ALIASES, /* GET: the list, or the one with sub */
    ROUTE_L_ALIAS_CREATE,
    ROUTE_L_ALIAS_UPDATE,
    ROUTE_L_ALIAS_DELETE,
    /* (/2019-09-30/functions/{name}/provisioned-concurrency?Qualifier=|List=ALL) */
    ROUTE_L_PROVISIONED_GET,
    ROUTE_L_PROVISIONED_PUT,
    ROUTE_L_PROVISIONED_DELETE,
    ROUTE_L_INVOKE, /* (the last of the Lambda API's: route_is_lambda) */
    ROUTE_TOKEN_LIST, /* /api/v1/tokens */
    ROUTE_TOKEN_CREATE,
    ROUTE_TOKEN_DELETE, /* /api/v1/tokens/{id}; name holds the id */
};

/* What a route needs under --auth tokens (api/auth.c, docs/api.md's table):
 * nothing (the health check), any valid token (a path or method that is not
 * a route: its 404 or 405), or a token whose scope covers it. admin covers
 * all; deploy covers deploy and read; invoke and read cover themselves. */
enum route_scope { SCOPE_OPEN, SCOPE_ANY, SCOPE_READ, SCOPE_INVOKE, SCOPE_DEPLOY, SCOPE_ADMIN };

typedef struct route {
    enum route_id id;
    const char *allow; /* for ROUTE_BAD_METHOD */
    char name[256];    /* the {name}, {host} or {id} segment, percent-decoded */
    char sub[256];     /* a second id (a dead letter's, a schedule's), or "" */
} route_t;

/* path is the URI path without the query ("/api/v1/functions/x"). */
void route_match(enum evhttp_cmd_type method, const char *path, route_t *out);
enum route_scope route_scope(enum route_id id);
/* Does the route name a function in route.name (a name, or for the Lambda
 * API's routes a name or an ARN)? A token limited to some functions may
 * call only those routes, for its functions. */
bool route_names_function(enum route_id id);
/* Is it one of the AWS Lambda API's routes (/2015-03-31/..., /2019-09-25/...)? */
bool route_is_lambda(enum route_id id);
/* "admin", "deploy", "invoke", "read"; "" for the rest. And back: -1 for none. */
const char *route_scope_name(enum route_scope s);
int route_scope_parse(const char *name);
