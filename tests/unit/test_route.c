/* The API route table: every route, wrong methods, bad names, odd paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
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
        cmocka_unit_test(null_and_overlong_paths),
    };
    return cmocka_run_group_tests_name("route", tests, NULL, NULL);
}
