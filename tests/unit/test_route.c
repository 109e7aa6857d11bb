/* The API route table: every route, wrong methods, bad names, odd paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "api/route.h"

typedef struct {
    enum evhttp_cmd_type m;
    const char *path;
    enum route_id id;
    const char *name;
    const char *allow;
} case_t;

static const case_t CASES[] = {
    {EVHTTP_REQ_GET, "/healthz", ROUTE_HEALTH, "", NULL},
    {EVHTTP_REQ_HEAD, "/healthz", ROUTE_HEALTH, "", NULL},
    {EVHTTP_REQ_POST, "/healthz", ROUTE_BAD_METHOD, "", "GET, HEAD"},
    {EVHTTP_REQ_GET, "/api/v1/runtimes", ROUTE_RUNTIMES, "", NULL},
    {EVHTTP_REQ_GET, "/api/v1/tokens", ROUTE_TOKEN_LIST, "", NULL},
    {EVHTTP_REQ_POST, "/api/v1/tokens", ROUTE_TOKEN_CREATE, "", NULL},
    {EVHTTP_REQ_PUT, "/api/v1/tokens", ROUTE_BAD_METHOD, "", "GET, POST"},
    {EVHTTP_REQ_DELETE, "/api/v1/tokens/0123abcd4567", ROUTE_TOKEN_DELETE, "0123abcd4567", NULL},
    {EVHTTP_REQ_GET, "/api/v1/tokens/0123abcd4567", ROUTE_BAD_METHOD, "0123abcd4567", "DELETE"},
    {EVHTTP_REQ_GET, "/api/v1/functions", ROUTE_FN_LIST, "", NULL},
    {EVHTTP_REQ_GET, "/api/v1/functions/", ROUTE_FN_LIST, "", NULL},
    {EVHTTP_REQ_POST, "/api/v1/functions", ROUTE_FN_CREATE, "", NULL},
    {EVHTTP_REQ_DELETE, "/api/v1/functions", ROUTE_BAD_METHOD, "", "GET, POST"},
    {EVHTTP_REQ_GET, "/api/v1/functions/hello", ROUTE_FN_GET, "hello", NULL},
    {EVHTTP_REQ_PUT, "/api/v1/functions/hello", ROUTE_FN_UPDATE, "hello", NULL},
    {EVHTTP_REQ_DELETE, "/api/v1/functions/hello", ROUTE_FN_DELETE, "hello", NULL},
    {EVHTTP_REQ_POST, "/api/v1/functions/hello", ROUTE_BAD_METHOD, "hello", "GET, PUT, DELETE"},
    {EVHTTP_REQ_POST, "/api/v1/functions/hello/invoke", ROUTE_FN_INVOKE, "hello", NULL},
    {EVHTTP_REQ_GET, "/api/v1/functions/hello/invoke", ROUTE_BAD_METHOD, "hello", "POST"},
    {EVHTTP_REQ_GET, "/api/v1/functions/hello/logs", ROUTE_FN_LOGS, "hello", NULL},
    {EVHTTP_REQ_GET, "/api/v1/functions/hello/instances", ROUTE_FN_INSTANCES, "hello", NULL},
    {EVHTTP_REQ_GET, "/api/v1/functions/hello/versions", ROUTE_FN_VERSIONS, "hello", NULL},
    {EVHTTP_REQ_GET, "/api/v1/functions/hello/figures", ROUTE_FN_FIGURES, "hello", NULL},
    {EVHTTP_REQ_POST, "/api/v1/functions/hello/figures", ROUTE_BAD_METHOD, "hello", "GET"},
    {EVHTTP_REQ_GET, "/api/v1/figures", ROUTE_FIGURES, "", NULL},
    {EVHTTP_REQ_DELETE, "/api/v1/figures", ROUTE_BAD_METHOD, "", "GET"},
    {EVHTTP_REQ_GET, "/console", ROUTE_CONSOLE, "", NULL},
    {EVHTTP_REQ_GET, "/console/", ROUTE_CONSOLE, "", NULL},
    {EVHTTP_REQ_GET, "/console/app.js", ROUTE_CONSOLE, "app.js", NULL},
    {EVHTTP_REQ_GET, "/console/..%2F..%2Fetc%2Fpasswd", ROUTE_CONSOLE, "../../etc/passwd", NULL},
    {EVHTTP_REQ_GET, "/console/a/b", ROUTE_NOT_FOUND, "", NULL},
    {EVHTTP_REQ_POST, "/console/", ROUTE_BAD_METHOD, "", "GET"},
    {EVHTTP_REQ_POST, "/deploy", ROUTE_GL_DEPLOY, "", NULL},
    {EVHTTP_REQ_GET, "/info", ROUTE_FN_LIST, "", NULL},
    {EVHTTP_REQ_GET, "/info/hello", ROUTE_FN_GET, "hello", NULL},
    {EVHTTP_REQ_POST, "/invoke/hello", ROUTE_FN_INVOKE, "hello", NULL},
    {EVHTTP_REQ_DELETE, "/del/hello", ROUTE_FN_DELETE, "hello", NULL},
    {EVHTTP_REQ_GET, "/del/hello", ROUTE_BAD_METHOD, "hello", "DELETE"},
    {EVHTTP_REQ_POST, "/invoke/..%2Fx", ROUTE_BAD_NAME, "../x", NULL},
    {EVHTTP_REQ_GET, "//api//v1//functions", ROUTE_NOT_FOUND, "", NULL},
    {EVHTTP_REQ_GET, "/api/v1/functions/hello/other", ROUTE_NOT_FOUND, "", NULL},
    {EVHTTP_REQ_GET, "/api/v1/functions/hello/invoke/x", ROUTE_NOT_FOUND, "", NULL},
    {EVHTTP_REQ_GET, "/api/v2/functions", ROUTE_NOT_FOUND, "", NULL},
    {EVHTTP_REQ_GET, "/", ROUTE_NOT_FOUND, "", NULL},
    {EVHTTP_REQ_GET, "", ROUTE_NOT_FOUND, "", NULL},
    {EVHTTP_REQ_GET, "/api/v1/functions/..%2Fetc", ROUTE_BAD_NAME, "../etc", NULL},
    {EVHTTP_REQ_GET, "/api/v1/functions/a%00b", ROUTE_NOT_FOUND, "", NULL},
    {EVHTTP_REQ_GET, "/api/v1/functions/-x", ROUTE_BAD_NAME, "-x", NULL},
    {EVHTTP_REQ_GET, "/api/v1/functions/h%65llo", ROUTE_FN_GET, "hello", NULL},
    /* impulse's chambers: ids are any segment (checked by the handler) */
    {EVHTTP_REQ_GET, "/chambers", ROUTE_CH_LIST, "", NULL},
    {EVHTTP_REQ_GET, "/chambers/", ROUTE_CH_LIST, "", NULL},
    {EVHTTP_REQ_POST, "/chambers", ROUTE_CH_CREATE, "", NULL},
    {EVHTTP_REQ_PUT, "/chambers", ROUTE_BAD_METHOD, "", "GET, POST"},
    {EVHTTP_REQ_DELETE, "/chambers", ROUTE_BAD_METHOD, "", "GET, POST"},
    {EVHTTP_REQ_PATCH, "/chambers", ROUTE_BAD_METHOD, "", "GET, POST"},
    {EVHTTP_REQ_HEAD, "/chambers", ROUTE_BAD_METHOD, "", "GET, POST"},
    {EVHTTP_REQ_GET, "/chambers/sampleapp-1.0.0-ab12c", ROUTE_CH_GET, "sampleapp-1.0.0-ab12c", NULL},
    {EVHTTP_REQ_DELETE, "/chambers/sampleapp-1.0.0-ab12c", ROUTE_CH_DELETE, "sampleapp-1.0.0-ab12c", NULL},
    {EVHTTP_REQ_POST, "/chambers/x", ROUTE_BAD_METHOD, "x", "GET, DELETE"},
    {EVHTTP_REQ_PUT, "/chambers/x", ROUTE_BAD_METHOD, "x", "GET, DELETE"},
    {EVHTTP_REQ_GET, "/chambers/..%2F", ROUTE_CH_GET, "../", NULL},
    {EVHTTP_REQ_GET, "/chambers/%2e%2e", ROUTE_CH_GET, "..", NULL},
    {EVHTTP_REQ_DELETE, "/chambers/-x", ROUTE_CH_DELETE, "-x", NULL},
    {EVHTTP_REQ_GET, "/chambers/a%00b", ROUTE_NOT_FOUND, "", NULL},
    {EVHTTP_REQ_GET, "/chambers/a/b", ROUTE_NOT_FOUND, "", NULL},
    {EVHTTP_REQ_GET, "/chamber", ROUTE_NOT_FOUND, "", NULL},
    {EVHTTP_REQ_GET, "/Chambers", ROUTE_NOT_FOUND, "", NULL},
    {EVHTTP_REQ_GET, "/api/v1/chambers", ROUTE_NOT_FOUND, "", NULL},
    /* the router's hosts */
    {EVHTTP_REQ_GET, "/api/v1/router", ROUTE_ROUTER, "", NULL},
    {EVHTTP_REQ_POST, "/api/v1/router", ROUTE_BAD_METHOD, "", "GET"},
    {EVHTTP_REQ_DELETE, "/api/v1/router", ROUTE_BAD_METHOD, "", "GET"},
    {EVHTTP_REQ_PUT, "/api/v1/router/hosts/apps.test", ROUTE_ROUTER_HOST_PUT, "apps.test", NULL},
    {EVHTTP_REQ_DELETE, "/api/v1/router/hosts/apps.test", ROUTE_ROUTER_HOST_DELETE, "apps.test", NULL},
    {EVHTTP_REQ_GET, "/api/v1/router/hosts/apps.test", ROUTE_BAD_METHOD, "apps.test", "PUT, DELETE"},
    {EVHTTP_REQ_POST, "/api/v1/router/hosts/apps.test", ROUTE_BAD_METHOD, "apps.test", "PUT, DELETE"},
    {EVHTTP_REQ_PUT, "/api/v1/router/hosts/%41pps.test", ROUTE_ROUTER_HOST_PUT, "Apps.test", NULL},
    {EVHTTP_REQ_PUT, "/api/v1/router/hosts/..%2Fetc", ROUTE_ROUTER_HOST_PUT, "../etc", NULL},
    {EVHTTP_REQ_PUT, "/api/v1/router/hosts/a%00b", ROUTE_NOT_FOUND, "", NULL},
    {EVHTTP_REQ_PUT, "/api/v1/router/hosts", ROUTE_NOT_FOUND, "", NULL},
    {EVHTTP_REQ_PUT, "/api/v1/router/hosts/a/b", ROUTE_NOT_FOUND, "", NULL},
    {EVHTTP_REQ_PUT, "/api/v1/router/other/a", ROUTE_NOT_FOUND, "", NULL},
    {EVHTTP_REQ_GET, "/api/v1/router/x", ROUTE_NOT_FOUND, "", NULL},
};

static void table(void **state)
{
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        route_t r;
        route_match(CASES[i].m, CASES[i].path, &r);
        if (r.id != CASES[i].id)
            fail_msg("%s: route %d, want %d", CASES[i].path, r.id, CASES[i].id);
        assert_string_equal(r.name, CASES[i].name);
        if (CASES[i].allow)
            assert_string_equal(r.allow, CASES[i].allow);
    }
}

/* A function's Event settings and dead letters: the letter's id in sub. */
static void event_routes(void **state)
{
    static const struct {
        enum evhttp_cmd_type m;
        const char *path;
        enum route_id id;
        const char *name, *sub, *allow;
    } C[] = {
        {EVHTTP_REQ_GET, "/api/v1/functions/f/event-invoke-config", ROUTE_FN_EVENT_CONFIG_GET, "f", "", NULL},
        {EVHTTP_REQ_PUT, "/api/v1/functions/f/event-invoke-config", ROUTE_FN_EVENT_CONFIG_PUT, "f", "", NULL},
        {EVHTTP_REQ_DELETE, "/api/v1/functions/f/event-invoke-config", ROUTE_FN_EVENT_CONFIG_DELETE, "f", "", NULL},
        {EVHTTP_REQ_POST, "/api/v1/functions/f/event-invoke-config", ROUTE_BAD_METHOD, "f", "", "GET, PUT, DELETE"},
        {EVHTTP_REQ_GET, "/api/v1/functions/f/dead-letters", ROUTE_FN_DEAD_LETTERS, "f", "", NULL},
        {EVHTTP_REQ_DELETE, "/api/v1/functions/f/dead-letters", ROUTE_FN_DEAD_LETTERS_DELETE, "f", "", NULL},
        {EVHTTP_REQ_POST, "/api/v1/functions/f/dead-letters", ROUTE_BAD_METHOD, "f", "", "GET, DELETE"},
        {EVHTTP_REQ_GET, "/api/v1/functions/f/dead-letters/abc-1", ROUTE_FN_DEAD_LETTERS, "f", "abc-1", NULL},
        {EVHTTP_REQ_DELETE, "/api/v1/functions/f/dead-letters/abc-1", ROUTE_FN_DEAD_LETTERS_DELETE, "f", "abc-1", NULL},
        {EVHTTP_REQ_POST, "/api/v1/functions/f/dead-letters/replay", ROUTE_FN_DEAD_LETTERS_REPLAY, "f", "", NULL},
        {EVHTTP_REQ_POST, "/api/v1/functions/f/dead-letters/abc-1/replay", ROUTE_FN_DEAD_LETTERS_REPLAY, "f", "abc-1",
         NULL},
        {EVHTTP_REQ_GET, "/api/v1/functions/f/dead-letters/abc-1/replay", ROUTE_BAD_METHOD, "f", "abc-1", "POST"},
        {EVHTTP_REQ_POST, "/api/v1/functions/f/dead-letters/abc-1/other", ROUTE_NOT_FOUND, "", "", NULL},
        {EVHTTP_REQ_POST, "/api/v1/functions/f/dead-letters/a/replay/x", ROUTE_NOT_FOUND, "", "", NULL},
        {EVHTTP_REQ_GET, "/api/v1/functions/f/logs/x", ROUTE_NOT_FOUND, "", "", NULL},
        /* (an empty id is no id: never "all of them") */
        {EVHTTP_REQ_DELETE, "/api/v1/functions/f/dead-letters//", ROUTE_NOT_FOUND, "", "", NULL},
        {EVHTTP_REQ_POST, "/api/v1/functions/f/dead-letters//replay", ROUTE_NOT_FOUND, "", "", NULL},
        /* (an id longer than route_t.sub holds: no route) */
        {EVHTTP_REQ_GET, "/api/v1/functions/f/dead-letters/"
                         "0123456789012345678901234567890123456789012345678901234567890123456789"
                         "0123456789012345678901234567890123456789012345678901234567890123456789"
                         "0123456789012345678901234567890123456789012345678901234567890123456789"
                         "0123456789012345678901234567890123456789012345678901234567890123456789",
         ROUTE_NOT_FOUND, "", "", NULL},
        {EVHTTP_REQ_POST, "/api/v1/functions/f/publish", ROUTE_FN_PUBLISH, "f", "", NULL},
        {EVHTTP_REQ_DELETE, "/api/v1/functions/f/versions/3", ROUTE_FN_VERSION_DELETE, "f", "3", NULL},
        {EVHTTP_REQ_GET, "/api/v1/functions/f/versions/3", ROUTE_BAD_METHOD, "f", "3", "DELETE"},
        {EVHTTP_REQ_PUT, "/api/v1/functions/f/aliases/live", ROUTE_FN_ALIAS_PUT, "f", "live", NULL},
        {EVHTTP_REQ_GET, "/api/v1/functions/f/aliases/live/x", ROUTE_NOT_FOUND, "", "", NULL},
        {EVHTTP_REQ_GET, "/api/v1/functions/f/schedules/s/x", ROUTE_NOT_FOUND, "", "", NULL},
        {EVHTTP_REQ_GET, "/2015-03-31/functions/f/aliases/live", ROUTE_L_ALIASES, "f", "live", NULL},
        {EVHTTP_REQ_POST, "/2015-03-31/functions/f/versions", ROUTE_L_PUBLISH, "f", "", NULL},
        {EVHTTP_REQ_POST, "/api/v1/test/clock", ROUTE_TEST_CLOCK, "", "", NULL},
        {EVHTTP_REQ_GET, "/api/v1/functions/..%2Fx/dead-letters", ROUTE_BAD_NAME, "../x", "", NULL},
        {EVHTTP_REQ_GET, "/2019-09-25/functions/f/event-invoke-config", ROUTE_L_EVENT_CONFIG_GET, "f", "", NULL},
        {EVHTTP_REQ_PUT, "/2019-09-25/functions/f/event-invoke-config", ROUTE_L_EVENT_CONFIG_PUT, "f", "", NULL},
        {EVHTTP_REQ_POST, "/2019-09-25/functions/f/event-invoke-config", ROUTE_L_EVENT_CONFIG_UPDATE, "f", "", NULL},
        {EVHTTP_REQ_DELETE, "/2019-09-25/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af/"
                            "event-invoke-config",
         ROUTE_L_EVENT_CONFIG_DELETE, "arn:aws:lambda:us-east-1:000000000000:function:f", "", NULL},
        {EVHTTP_REQ_GET, "/2019-09-25/functions/f/event-invoke-config/list", ROUTE_L_EVENT_CONFIG_LIST, "f", "", NULL},
        {EVHTTP_REQ_PUT, "/2019-09-25/functions/f/event-invoke-config/list", ROUTE_BAD_METHOD, "f", "", "GET"},
        {EVHTTP_REQ_GET, "/2019-09-25/functions/f/other", ROUTE_NOT_FOUND, "", "", NULL},
        {EVHTTP_REQ_GET, "/2019-09-30/functions/f/concurrency", ROUTE_L_CONCURRENCY_GET, "f", "", NULL},
        {EVHTTP_REQ_PUT, "/2019-09-30/functions/f/concurrency", ROUTE_BAD_METHOD, "f", "", "GET"},
        {EVHTTP_REQ_PUT, "/2017-10-31/functions/f/concurrency", ROUTE_L_CONCURRENCY_PUT, "f", "", NULL},
        {EVHTTP_REQ_DELETE, "/2017-10-31/functions/f/concurrency", ROUTE_L_CONCURRENCY_DELETE, "f", "", NULL},
        {EVHTTP_REQ_GET, "/2017-10-31/functions/f/concurrency", ROUTE_BAD_METHOD, "f", "", "PUT, DELETE"},
        {EVHTTP_REQ_PUT, "/2017-10-31/functions/f/other", ROUTE_NOT_FOUND, "", "", NULL},
        {EVHTTP_REQ_PUT, "/2017-10-31/functions/f/concurrency/x", ROUTE_NOT_FOUND, "", "", NULL},
        {EVHTTP_REQ_GET, "/2019-09-25/functions/f", ROUTE_NOT_FOUND, "", "", NULL},
    };
    for (size_t i = 0; i < sizeof C / sizeof *C; i++) {
        route_t r;
        route_match(C[i].m, C[i].path, &r);
        if (r.id != C[i].id)
            fail_msg("%s: route %d, want %d", C[i].path, r.id, C[i].id);
        assert_string_equal(r.name, C[i].name);
        assert_string_equal(r.sub, C[i].sub);
        if (C[i].allow)
            assert_string_equal(r.allow, C[i].allow);
    }
    assert_true(route_is_lambda(ROUTE_L_EVENT_CONFIG_LIST) && !route_is_lambda(ROUTE_FN_DEAD_LETTERS));
    assert_true(route_names_function(ROUTE_FN_DEAD_LETTERS_REPLAY) && route_names_function(ROUTE_L_EVENT_CONFIG_PUT));
}

/* docs/api.md's route table (make unit runs at the tree's top): every
 * method and path of each row is a route with the scope the row gives, and
 * every route the daemon has is in a row. */
static enum evhttp_cmd_type method_of(const char *m)
{
    static const struct {
        const char *name;
        enum evhttp_cmd_type m;
    } M[] = {{"GET", EVHTTP_REQ_GET},       {"HEAD", EVHTTP_REQ_HEAD}, {"POST", EVHTTP_REQ_POST},
             {"PUT", EVHTTP_REQ_PUT},       {"DELETE", EVHTTP_REQ_DELETE}};
    for (size_t i = 0; i < sizeof M / sizeof *M; i++)
        if (!strcmp(m, M[i].name))
            return M[i].m;
    fail_msg("docs/api.md: unknown method '%s'", m);
    return EVHTTP_REQ_GET;
}

/* Cell c of a "| a | b | c |" line, trimmed, into out. */
static void cell(const char *line, int c, char *out, size_t size)
{
    const char *p = line;
    for (int i = 0; i < c && p; i++)
        p = strchr(p + 1, '|');
    const char *end = p ? strchr(p + 1, '|') : NULL;
    if (!end)
        fail_msg("docs/api.md: a row with too few cells: %s", line);
    p++;
    while (*p == ' ')
        p++;
    size_t n = (size_t)(end - p);
    while (n && p[n - 1] == ' ')
        n--;
    snprintf(out, size, "%.*s", (int)n, p);
}

/* The next item of a ", "-separated list at *p into out; false at the end. */
static bool next_item(const char **p, char *out, size_t size)
{
    if (!**p)
        return false;
    size_t n = strcspn(*p, ",");
    snprintf(out, size, "%.*s", (int)n, *p);
    *p += n;
    while (**p == ',' || **p == ' ')
        (*p)++;
    return true;
}

static void the_docs_route_table_is_every_route_with_its_scope(void **state)
{
    FILE *f = fopen("docs/api.md", "r");
    if (!f)
        fail_msg("cannot open docs/api.md (run from the tree's top, as make unit does)");
    bool seen[ROUTE_TOKEN_DELETE + 1] = {false}, in_table = false;
    char line[1024];
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "| Method | Path | Scope |", 24)) {
            in_table = true;
            continue;
        }
        if (!in_table || !strncmp(line, "|---", 4))
            continue;
        if (line[0] != '|')
            break;
        char methods[64], path[256], scopes[64], m[16], sc[16], url[300];
        cell(line, 0, methods, sizeof methods);
        cell(line, 1, path, sizeof path);
        cell(line, 2, scopes, sizeof scopes);
        /* `/api/v1/functions/{name}` -> /api/v1/functions/fn */
        size_t o = 0;
        for (const char *p = path; *p && o < sizeof url - 8; p++) {
            if (*p == '`')
                continue;
            if (*p == '{') {
                const char *close = strchr(p, '}');
                o += (size_t)snprintf(url + o, sizeof url - o, "%s", !strncmp(p, "{host}", 6) ? "h.localhost" : "fn");
                p = close ? close : p;
                continue;
            }
            url[o++] = *p;
        }
        url[o] = '\0';
        const char *mp = methods, *sp = scopes;
        bool one_scope = !strchr(scopes, ',');
        char first_scope[16] = "";
        while (next_item(&mp, m, sizeof m)) {
            if (!next_item(&sp, sc, sizeof sc) && one_scope)
                snprintf(sc, sizeof sc, "%s", first_scope);
            if (!first_scope[0])
                snprintf(first_scope, sizeof first_scope, "%s", sc);
            route_t r;
            route_match(method_of(m), url, &r);
            if (r.id <= ROUTE_BAD_METHOD || r.id > ROUTE_TOKEN_DELETE)
                fail_msg("docs/api.md: %s %s is no route (%d)", m, url, r.id);
            const char *want = route_scope(r.id) == SCOPE_OPEN ? "open" : route_scope_name(route_scope(r.id));
            if (strcmp(sc, want))
                fail_msg("docs/api.md: %s %s says scope '%s'; the daemon's is '%s'", m, url, sc, want);
            seen[r.id] = true;
        }
        rows++;
    }
    fclose(f);
    assert_true(rows > 20);
    for (int id = ROUTE_BAD_METHOD + 1; id <= ROUTE_TOKEN_DELETE; id++)
        if (!seen[id])
            fail_msg("route %d is not in docs/api.md's route table", id);
}

static void scopes_by_name(void **state)
{
    assert_int_equal(route_scope_parse("admin"), SCOPE_ADMIN);
    assert_int_equal(route_scope_parse("deploy"), SCOPE_DEPLOY);
    assert_int_equal(route_scope_parse("invoke"), SCOPE_INVOKE);
    assert_int_equal(route_scope_parse("read"), SCOPE_READ);
    assert_int_equal(route_scope_parse("open"), -1);
    assert_int_equal(route_scope_parse(""), -1);
    assert_int_equal(route_scope_parse(NULL), -1);
    assert_int_equal(route_scope(ROUTE_NOT_FOUND), SCOPE_ANY);
    assert_int_equal(route_scope(ROUTE_BAD_METHOD), SCOPE_ANY);
    assert_true(route_names_function(ROUTE_L_INVOKE));
    assert_false(route_names_function(ROUTE_FN_CREATE));
}

static void null_and_overlong_paths(void **state)
{
    route_t r;
    route_match(EVHTTP_REQ_GET, NULL, &r);
    assert_int_equal(r.id, ROUTE_NOT_FOUND);
    char longp[1024] = "/api/v1/functions/";
    memset(longp + strlen(longp), 'a', 300);
    route_match(EVHTTP_REQ_GET, longp, &r);
    assert_int_equal(r.id, ROUTE_NOT_FOUND);
    route_match(EVHTTP_REQ_GET, "/a/b/c/d/e/f/g", &r);
    assert_int_equal(r.id, ROUTE_NOT_FOUND);
    /* A chamber id or a host of 255 bytes is a name; 256 is too long. */
    char id[512] = "/chambers/";
    memset(id + strlen(id), 'c', 255);
    route_match(EVHTTP_REQ_GET, id, &r);
    assert_int_equal(r.id, ROUTE_CH_GET);
    assert_int_equal(strlen(r.name), 255);
    strcat(id, "c");
    route_match(EVHTTP_REQ_GET, id, &r);
    assert_int_equal(r.id, ROUTE_NOT_FOUND);
    char host[512] = "/api/v1/router/hosts/";
    memset(host + strlen(host), 'h', 256);
    route_match(EVHTTP_REQ_PUT, host, &r);
    assert_int_equal(r.id, ROUTE_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table),
        cmocka_unit_test(event_routes),
        cmocka_unit_test(null_and_overlong_paths),
        cmocka_unit_test(the_docs_route_table_is_every_route_with_its_scope),
        cmocka_unit_test(scopes_by_name),
    };
    return cmocka_run_group_tests_name("route", tests, NULL, NULL);
}
