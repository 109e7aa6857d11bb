#include "api/route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/fn_spec.h"

enum { MAX_SEGMENTS = 7, SEGMENT_MAX = 256 };

/* Splits the path into at most MAX_SEGMENTS percent-decoded segments; returns
 * how many, or -1 (too many, too long, or an encoded NUL). */
static int split_path(const char *path, char seg[MAX_SEGMENTS][SEGMENT_MAX])
{
    int n = 0;
    const char *p = path;
    while (*p == '/')
        p++;
    while (*p) {
        if (n == MAX_SEGMENTS)
            return -1;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len >= SEGMENT_MAX)
            return -1;
        char raw[SEGMENT_MAX];
        memcpy(raw, p, len);
        raw[len] = '\0';
        size_t dlen = 0;
        char *dec = evhttp_uridecode(raw, 0, &dlen);
        if (!dec || strlen(dec) != dlen) {
            free(dec);
            return -1;
        }
        snprintf(seg[n++], SEGMENT_MAX, "%s", dec);
        free(dec);
        if (!end)
            break;
        p = end + 1;
    }
    return n;
}

static void pick(route_t *out, enum evhttp_cmd_type m, const char *allow, enum route_id get,
                 enum route_id post, enum route_id put, enum route_id del)
{
    enum route_id id = ROUTE_BAD_METHOD;
    if ((m == EVHTTP_REQ_GET || (m == EVHTTP_REQ_HEAD && get == ROUTE_HEALTH)) && get)
        id = get;
    else if (m == EVHTTP_REQ_POST && post)
        id = post;
    else if (m == EVHTTP_REQ_PUT && put)
        id = put;
    else if (m == EVHTTP_REQ_DELETE && del)
        id = del;
    out->id = id;
    out->allow = allow;
}

void route_match(enum evhttp_cmd_type m, const char *path, route_t *out)
{
    memset(out, 0, sizeof *out);
    out->id = ROUTE_NOT_FOUND;
    char seg[MAX_SEGMENTS][SEGMENT_MAX];
    int n = path ? split_path(path, seg) : -1;
    if (n == 1 && !strcmp(seg[0], "healthz"))
        return pick(out, m, "GET, HEAD", ROUTE_HEALTH, 0, 0, 0);
    if (n == 1 && !strcmp(seg[0], "metrics"))
        return pick(out, m, "GET", ROUTE_METRICS, 0, 0, 0);
    /* The web console's files (public: its API calls carry the token). */
    if (n >= 1 && n <= 2 && !strcmp(seg[0], "console")) {
        snprintf(out->name, sizeof out->name, "%s", n == 2 ? seg[1] : "");
        return pick(out, m, "GET", ROUTE_CONSOLE, 0, 0, 0);
    }
    /* Glambdar's routes, kept as its users' scripts call them. */
    if (n == 1 && !strcmp(seg[0], "deploy"))
        return pick(out, m, "POST", 0, ROUTE_GL_DEPLOY, 0, 0);
    if (n == 1 && !strcmp(seg[0], "info"))
        return pick(out, m, "GET", ROUTE_FN_LIST, 0, 0, 0);
    if (n == 2 && (!strcmp(seg[0], "invoke") || !strcmp(seg[0], "info") || !strcmp(seg[0], "del"))) {
        snprintf(out->name, sizeof out->name, "%s", seg[1]);
        if (!fn_name_valid(out->name)) {
            out->id = ROUTE_BAD_NAME;
            return;
        }
        if (!strcmp(seg[0], "invoke"))
            return pick(out, m, "POST", 0, ROUTE_FN_INVOKE, 0, 0);
        if (!strcmp(seg[0], "info"))
            return pick(out, m, "GET", ROUTE_FN_GET, 0, 0, 0);
        return pick(out, m, "DELETE", 0, 0, 0, ROUTE_FN_DELETE);
    }
    /* The AWS Lambda API, as awscli and the SDKs call it. */
    if (n >= 2 && !strcmp(seg[0], "2015-03-31") && !strcmp(seg[1], "functions")) {
        if (n == 2)
            return pick(out, m, "GET, POST", ROUTE_L_LIST, ROUTE_L_CREATE, 0, 0);
        snprintf(out->name, sizeof out->name, "%s", seg[2]);
        if (n == 3)
            return pick(out, m, "GET, DELETE", ROUTE_L_GET, 0, 0, ROUTE_L_DELETE);
        if (n == 4 && !strcmp(seg[3], "configuration"))
            return pick(out, m, "GET, PUT", ROUTE_L_GET_CONFIG, 0, ROUTE_L_UPDATE_CONFIG, 0);
        if (n == 4 && !strcmp(seg[3], "code"))
            return pick(out, m, "PUT", 0, 0, ROUTE_L_UPDATE_CODE, 0);
        if (n == 4 && !strcmp(seg[3], "invocations"))
            return pick(out, m, "POST", 0, ROUTE_L_INVOKE, 0, 0);
        if (n == 4 && !strcmp(seg[3], "versions"))
            return pick(out, m, "GET, POST", ROUTE_L_VERSIONS, ROUTE_L_PUBLISH, 0, 0);
        if (n == 4 && !strcmp(seg[3], "aliases"))
            return pick(out, m, "GET, POST", ROUTE_L_ALIASES, ROUTE_L_ALIAS_CREATE, 0, 0);
        if (n == 5 && !strcmp(seg[3], "aliases") && seg[4][0] && strlen(seg[4]) < sizeof out->sub) {
            snprintf(out->sub, sizeof out->sub, "%s", seg[4]);
            return pick(out, m, "GET, PUT, DELETE", ROUTE_L_ALIASES, 0, ROUTE_L_ALIAS_UPDATE, ROUTE_L_ALIAS_DELETE);
        }
        out->name[0] = '\0';
        return;
    }
    /* ... its reserved concurrency, under two later versions ... */
    if (n == 4 && !strcmp(seg[0], "2019-09-30") && !strcmp(seg[1], "functions") &&
        !strcmp(seg[3], "provisioned-concurrency")) {
        snprintf(out->name, sizeof out->name, "%s", seg[2]);
        return pick(out, m, "GET, PUT, DELETE", ROUTE_L_PROVISIONED_GET, 0, ROUTE_L_PROVISIONED_PUT,
                    ROUTE_L_PROVISIONED_DELETE);
    }
    if (n == 4 && !strcmp(seg[1], "functions") && !strcmp(seg[3], "concurrency") &&
        (!strcmp(seg[0], "2017-10-31") || !strcmp(seg[0], "2019-09-30"))) {
        snprintf(out->name, sizeof out->name, "%s", seg[2]);
        if (!strcmp(seg[0], "2019-09-30"))
            return pick(out, m, "GET", ROUTE_L_CONCURRENCY_GET, 0, 0, 0);
        return pick(out, m, "PUT, DELETE", 0, 0, ROUTE_L_CONCURRENCY_PUT, ROUTE_L_CONCURRENCY_DELETE);
    }
    /* ... and its event invoke config, under a later API version. */
    if (n >= 4 && !strcmp(seg[0], "2019-09-25") && !strcmp(seg[1], "functions") &&
        !strcmp(seg[3], "event-invoke-config")) {
        snprintf(out->name, sizeof out->name, "%s", seg[2]);
        if (n == 4) {
            pick(out, m, "GET, PUT, POST, DELETE", ROUTE_L_EVENT_CONFIG_GET, ROUTE_L_EVENT_CONFIG_UPDATE,
                 ROUTE_L_EVENT_CONFIG_PUT, ROUTE_L_EVENT_CONFIG_DELETE);
            return;
        }
        if (n == 5 && !strcmp(seg[4], "list"))
            return pick(out, m, "GET", ROUTE_L_EVENT_CONFIG_LIST, 0, 0, 0);
        out->name[0] = '\0';
        return;
    }
    /* impulse's chambers. */
    if (n == 1 && !strcmp(seg[0], "chambers"))
        return pick(out, m, "GET, POST", ROUTE_CH_LIST, ROUTE_CH_CREATE, 0, 0);
    if (n == 2 && !strcmp(seg[0], "chambers")) {
        snprintf(out->name, sizeof out->name, "%s", seg[1]);
        return pick(out, m, "GET, DELETE", ROUTE_CH_GET, 0, 0, ROUTE_CH_DELETE);
    }
    if (n < 3 || strcmp(seg[0], "api") || strcmp(seg[1], "v1"))
        return;
    if (n == 3 && !strcmp(seg[2], "runtimes"))
        return pick(out, m, "GET", ROUTE_RUNTIMES, 0, 0, 0);
    if (n == 3 && !strcmp(seg[2], "router"))
        return pick(out, m, "GET", ROUTE_ROUTER, 0, 0, 0);
    if (n == 3 && !strcmp(seg[2], "figures"))
        return pick(out, m, "GET", ROUTE_FIGURES, 0, 0, 0);
    if (n == 3 && !strcmp(seg[2], "tokens"))
        return pick(out, m, "GET, POST", ROUTE_TOKEN_LIST, ROUTE_TOKEN_CREATE, 0, 0);
    if (n == 4 && !strcmp(seg[2], "test") && !strcmp(seg[3], "clock"))
        return pick(out, m, "POST", 0, ROUTE_TEST_CLOCK, 0, 0);
    if (n == 4 && !strcmp(seg[2], "tokens")) {
        snprintf(out->name, sizeof out->name, "%s", seg[3]);
        return pick(out, m, "DELETE", 0, 0, 0, ROUTE_TOKEN_DELETE);
    }
    if (n == 5 && !strcmp(seg[2], "router") && !strcmp(seg[3], "hosts")) {
        snprintf(out->name, sizeof out->name, "%s", seg[4]);
        return pick(out, m, "PUT, DELETE", 0, 0, ROUTE_ROUTER_HOST_PUT, ROUTE_ROUTER_HOST_DELETE);
    }
    if (strcmp(seg[2], "functions"))
        return;
    if (n == 3)
        return pick(out, m, "GET, POST", ROUTE_FN_LIST, ROUTE_FN_CREATE, 0, 0);
    bool letters = n >= 5 && !strcmp(seg[4], "dead-letters");
    bool schedules = n >= 5 && !strcmp(seg[4], "schedules");
    bool aliases = n >= 5 && !strcmp(seg[4], "aliases");
    bool provisioned = n >= 5 && !strcmp(seg[4], "provisioned");
    bool one_of = schedules || aliases || provisioned || (n == 6 && !strcmp(seg[4], "versions")); /* .../{kind}/{id} */
    if ((n > 5 && !letters && !one_of) || n > 7 || (n > 6 && one_of) ||
        (n == 5 && strcmp(seg[4], "invoke") && strcmp(seg[4], "logs") && strcmp(seg[4], "instances") && strcmp(seg[4], "figures") &&
         strcmp(seg[4], "versions") && strcmp(seg[4], "event-invoke-config") && strcmp(seg[4], "publish") &&
         !letters && !schedules && !aliases && !provisioned) ||
        (n == 7 && strcmp(seg[6], "replay")) || (n >= 6 && (!seg[5][0] || strlen(seg[5]) >= sizeof out->sub)))
        return;
    snprintf(out->name, sizeof out->name, "%s", seg[3]);
    if (!fn_name_valid(out->name)) {
        out->id = ROUTE_BAD_NAME;
        return;
    }
    if (n == 4)
        return pick(out, m, "GET, PUT, DELETE", ROUTE_FN_GET, 0, ROUTE_FN_UPDATE, ROUTE_FN_DELETE);
    if (!strcmp(seg[4], "invoke"))
        return pick(out, m, "POST", 0, ROUTE_FN_INVOKE, 0, 0);
    if (!strcmp(seg[4], "logs"))
        return pick(out, m, "GET", ROUTE_FN_LOGS, 0, 0, 0);
    if (!strcmp(seg[4], "figures"))
        return pick(out, m, "GET", ROUTE_FN_FIGURES, 0, 0, 0);
    if (!strcmp(seg[4], "versions") && n == 5)
        return pick(out, m, "GET", ROUTE_FN_VERSIONS, 0, 0, 0);
    if (!strcmp(seg[4], "versions")) {
        snprintf(out->sub, sizeof out->sub, "%s", seg[5]);
        return pick(out, m, "DELETE", 0, 0, 0, ROUTE_FN_VERSION_DELETE);
    }
    if (!strcmp(seg[4], "publish"))
        return pick(out, m, "POST", 0, ROUTE_FN_PUBLISH, 0, 0);
    if (provisioned) {
        if (n == 5)
            return pick(out, m, "GET", ROUTE_FN_PROVISIONED, 0, 0, 0);
        snprintf(out->sub, sizeof out->sub, "%s", seg[5]);
        return pick(out, m, "GET, PUT, DELETE", ROUTE_FN_PROVISIONED, 0, ROUTE_FN_PROVISIONED_PUT,
                    ROUTE_FN_PROVISIONED_DELETE);
    }
    if (aliases) {
        if (n == 5)
            return pick(out, m, "GET, POST", ROUTE_FN_ALIASES, ROUTE_FN_ALIAS_CREATE, 0, 0);
        snprintf(out->sub, sizeof out->sub, "%s", seg[5]);
        return pick(out, m, "GET, PUT, DELETE", ROUTE_FN_ALIASES, 0, ROUTE_FN_ALIAS_PUT, ROUTE_FN_ALIAS_DELETE);
    }
    if (!strcmp(seg[4], "event-invoke-config"))
        return pick(out, m, "GET, PUT, DELETE", ROUTE_FN_EVENT_CONFIG_GET, 0, ROUTE_FN_EVENT_CONFIG_PUT,
                    ROUTE_FN_EVENT_CONFIG_DELETE);
    if (schedules) {
        if (n == 5)
            return pick(out, m, "GET", ROUTE_FN_SCHEDULES, 0, 0, 0);
        snprintf(out->sub, sizeof out->sub, "%s", seg[5]);
        return pick(out, m, "GET, PUT, DELETE", ROUTE_FN_SCHEDULES, 0, ROUTE_FN_SCHEDULE_PUT, ROUTE_FN_SCHEDULE_DELETE);
    }
    if (letters) {
        if (n == 5)
            return pick(out, m, "GET, DELETE", ROUTE_FN_DEAD_LETTERS, 0, 0, ROUTE_FN_DEAD_LETTERS_DELETE);
        bool all = n == 6 && !strcmp(seg[5], "replay");
        if (!all)
            snprintf(out->sub, sizeof out->sub, "%s", seg[5]);
        if (all || n == 7)
            return pick(out, m, "POST", 0, ROUTE_FN_DEAD_LETTERS_REPLAY, 0, 0);
        return pick(out, m, "GET, DELETE", ROUTE_FN_DEAD_LETTERS, 0, 0, ROUTE_FN_DEAD_LETTERS_DELETE);
    }
    return pick(out, m, "GET", ROUTE_FN_INSTANCES, 0, 0, 0);
}

enum route_scope route_scope(enum route_id id)
{
    switch (id) {
    case ROUTE_HEALTH:
    case ROUTE_CONSOLE: return SCOPE_OPEN;
    case ROUTE_NOT_FOUND:
    case ROUTE_BAD_NAME:
    case ROUTE_BAD_METHOD: return SCOPE_ANY;
    case ROUTE_RUNTIMES:
    case ROUTE_METRICS:
    case ROUTE_FN_LIST:
    case ROUTE_FN_GET:
    case ROUTE_FN_LOGS:
    case ROUTE_FN_INSTANCES:
    case ROUTE_FN_VERSIONS:
    case ROUTE_FIGURES:
    case ROUTE_FN_FIGURES:
    case ROUTE_ROUTER:
    case ROUTE_CH_LIST:
    case ROUTE_CH_GET:
    case ROUTE_L_LIST:
    case ROUTE_L_GET:
    case ROUTE_L_GET_CONFIG:
    case ROUTE_FN_EVENT_CONFIG_GET:
    case ROUTE_FN_DEAD_LETTERS:
    case ROUTE_FN_SCHEDULES:
    case ROUTE_FN_ALIASES:
    case ROUTE_FN_PROVISIONED:
    case ROUTE_L_VERSIONS:
    case ROUTE_L_ALIASES:
    case ROUTE_L_PROVISIONED_GET:
    case ROUTE_L_EVENT_CONFIG_GET:
    case ROUTE_L_EVENT_CONFIG_LIST:
    case ROUTE_L_CONCURRENCY_GET: return SCOPE_READ;
    case ROUTE_FN_INVOKE:
    case ROUTE_FN_DEAD_LETTERS_REPLAY:
    case ROUTE_L_INVOKE: return SCOPE_INVOKE;
    case ROUTE_FN_CREATE:
    case ROUTE_FN_UPDATE:
    case ROUTE_FN_DELETE:
    case ROUTE_GL_DEPLOY:
    case ROUTE_ROUTER_HOST_PUT:
    case ROUTE_ROUTER_HOST_DELETE:
    case ROUTE_CH_CREATE:
    case ROUTE_CH_DELETE:
    case ROUTE_L_CREATE:
    case ROUTE_L_DELETE:
    case ROUTE_L_UPDATE_CONFIG:
    case ROUTE_L_UPDATE_CODE:
    case ROUTE_FN_EVENT_CONFIG_PUT:
    case ROUTE_FN_EVENT_CONFIG_DELETE:
    case ROUTE_FN_DEAD_LETTERS_DELETE:
    case ROUTE_FN_SCHEDULE_PUT:
    case ROUTE_FN_SCHEDULE_DELETE:
    case ROUTE_FN_PUBLISH:
    case ROUTE_FN_VERSION_DELETE:
    case ROUTE_FN_ALIAS_CREATE:
    case ROUTE_FN_ALIAS_PUT:
    case ROUTE_FN_ALIAS_DELETE:
    case ROUTE_FN_PROVISIONED_PUT:
    case ROUTE_FN_PROVISIONED_DELETE:
    case ROUTE_L_PROVISIONED_PUT:
    case ROUTE_L_PROVISIONED_DELETE:
    case ROUTE_L_PUBLISH:
    case ROUTE_L_ALIAS_CREATE:
    case ROUTE_L_ALIAS_UPDATE:
    case ROUTE_L_ALIAS_DELETE:
    case ROUTE_L_EVENT_CONFIG_PUT:
    case ROUTE_L_EVENT_CONFIG_UPDATE:
    case ROUTE_L_EVENT_CONFIG_DELETE:
    case ROUTE_L_CONCURRENCY_PUT:
    case ROUTE_L_CONCURRENCY_DELETE: return SCOPE_DEPLOY;
    case ROUTE_TEST_CLOCK:
    case ROUTE_TOKEN_LIST:
    case ROUTE_TOKEN_CREATE:
    case ROUTE_TOKEN_DELETE: return SCOPE_ADMIN;
    }
    return SCOPE_ADMIN; /* (a value not in the enum: the strictest) */
}

bool route_names_function(enum route_id id)
{
    switch (id) {
    case ROUTE_FN_GET:
    case ROUTE_FN_UPDATE:
    case ROUTE_FN_DELETE:
    case ROUTE_FN_INVOKE:
    case ROUTE_FN_LOGS:
    case ROUTE_FN_INSTANCES:
    case ROUTE_FN_VERSIONS:
    case ROUTE_FN_FIGURES:
    case ROUTE_FN_EVENT_CONFIG_GET:
    case ROUTE_FN_EVENT_CONFIG_PUT:
    case ROUTE_FN_EVENT_CONFIG_DELETE:
    case ROUTE_FN_DEAD_LETTERS:
    case ROUTE_FN_DEAD_LETTERS_DELETE:
    case ROUTE_FN_DEAD_LETTERS_REPLAY:
    case ROUTE_FN_SCHEDULES:
    case ROUTE_FN_SCHEDULE_PUT:
    case ROUTE_FN_SCHEDULE_DELETE:
    case ROUTE_FN_PUBLISH:
    case ROUTE_FN_VERSION_DELETE:
    case ROUTE_FN_ALIASES:
    case ROUTE_FN_ALIAS_CREATE:
    case ROUTE_FN_ALIAS_PUT:
    case ROUTE_FN_ALIAS_DELETE:
    case ROUTE_FN_PROVISIONED:
    case ROUTE_FN_PROVISIONED_PUT:
    case ROUTE_FN_PROVISIONED_DELETE:
    case ROUTE_L_PROVISIONED_GET:
    case ROUTE_L_PROVISIONED_PUT:
    case ROUTE_L_PROVISIONED_DELETE:
    case ROUTE_L_VERSIONS:
    case ROUTE_L_PUBLISH:
    case ROUTE_L_ALIASES:
    case ROUTE_L_ALIAS_CREATE:
    case ROUTE_L_ALIAS_UPDATE:
    case ROUTE_L_ALIAS_DELETE:
    case ROUTE_L_EVENT_CONFIG_GET:
    case ROUTE_L_EVENT_CONFIG_PUT:
    case ROUTE_L_EVENT_CONFIG_UPDATE:
    case ROUTE_L_EVENT_CONFIG_DELETE:
    case ROUTE_L_EVENT_CONFIG_LIST:
    case ROUTE_L_CONCURRENCY_GET:
    case ROUTE_L_CONCURRENCY_PUT:
    case ROUTE_L_CONCURRENCY_DELETE:
    case ROUTE_L_GET:
    case ROUTE_L_DELETE:
    case ROUTE_L_GET_CONFIG:
    case ROUTE_L_UPDATE_CONFIG:
    case ROUTE_L_UPDATE_CODE:
    case ROUTE_L_INVOKE: return true;
    default: return false;
    }
}

bool route_is_lambda(enum route_id id)
{
    return id >= ROUTE_L_LIST && id <= ROUTE_L_INVOKE;
}

static const char *const SCOPE_NAMES[] = {[SCOPE_READ] = "read", [SCOPE_INVOKE] = "invoke",
                                          [SCOPE_DEPLOY] = "deploy", [SCOPE_ADMIN] = "admin"};

const char *route_scope_name(enum route_scope s)
{
    return s >= SCOPE_READ && s <= SCOPE_ADMIN ? SCOPE_NAMES[s] : "";
}

int route_scope_parse(const char *name)
{
    for (int s = SCOPE_READ; s <= SCOPE_ADMIN; s++)
        if (name && !strcmp(name, SCOPE_NAMES[s]))
            return s;
    return -1;
}
