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
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table),
        cmocka_unit_test(null_and_overlong_paths),
    };
    return cmocka_run_group_tests_name("route", tests, NULL, NULL);
}
