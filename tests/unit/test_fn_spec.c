/* Unit tests of src/api/fn_spec.{h,c}: names, handlers and the function spec
 * the API accepts on create and update. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/fn_spec.h"

/* ---- helpers ------------------------------------------------------------ */

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* handler_split's outputs plus its verdict. */
typedef struct {
    bool ok;
    char module[FN_HANDLER_MAX + 1], func[FN_HANDLER_MAX + 1], err[512];
} split_t;

static split_t split(const char *handler, const char *runtime)
{
    split_t r;
    memset(&r, 0, sizeof r);
    const runtime_def_t *rt = runtime ? runtime_find(runtime) : NULL;
    if (runtime)
        assert_non_null(rt);
    r.ok = handler_split(handler, rt, r.module, r.func, r.err, sizeof r.err);
    return r;
}

static void assert_split(const char *handler, const char *runtime, const char *module,
                         const char *func)
{
    split_t r = split(handler, runtime);
    if (!r.ok)
        fail_msg("handler '%s' refused: %s", handler, r.err);
    assert_string_equal(r.module, module);
    assert_string_equal(r.func, func);
}

static void assert_split_refused(const char *handler, const char *message)
{
    split_t r = split(handler, "nodejs20");
    if (r.ok)
        fail_msg("handler '%s' accepted as module '%s' function '%s'", handler, r.module, r.func);
    assert_string_equal(r.err, message);
}

/* A parsed request: the body stays alive because in.code points into it. */
typedef struct {
    json_t *body;
    fn_input_t in;
    char err[512];
    int rc;
} parsed_t;

static void parse_json(parsed_t *p, json_t *body, bool create)
{
    memset(p, 0, sizeof *p);
    p->body = body;
    p->rc = fn_input_parse(p->body, create, &p->in, p->err, sizeof p->err);
}

static void parse(parsed_t *p, const char *text, bool create)
{
    json_error_t e;
    json_t *body = json_loads(text, JSON_DECODE_ANY, &e);
    if (!body)
        fail_msg("bad test JSON %s: %s", text, e.text);
    parse_json(p, body, create);
}

static void parsed_clear(parsed_t *p)
{
    fn_input_clear(&p->in);
    json_decref(p->body);
}

static void assert_parsed_ok(parsed_t *p)
{
    if (p->rc != 0)
        fail_msg("refused: %s", p->err);
}

/* Parses text and checks it is refused with exactly message. */
static void assert_refused(const char *text, bool create, const char *message)
{
    parsed_t p;
    parse(&p, text, create);
    if (p.rc == 0) {
        parsed_clear(&p);
        fail_msg("accepted: %s", text);
    }
    assert_int_equal(p.rc, -1);
    char err[sizeof p.err];
    memcpy(err, p.err, sizeof err);
    parsed_clear(&p);
    assert_string_equal(err, message);
}

#define CREATE_FIELDS "\"name\":\"f\",\"runtime\":\"nodejs20\",\"code\":\"x\""

/* One test function per refused body, so the name says what is refused. */
#define REFUSED_TEST(test_name, create, text, message)                                             \
    static void test_name(void **state)                                                            \
    {                                                                                              \
        (void)state;                                                                               \
        assert_refused(text, create, message);                                                     \
    }

/* ---- fn_name_valid -------------------------------------------------------- */

static void test_name_accepts_letters_digits_dash_underscore(void **state)
{
    (void)state;
    assert_true(fn_name_valid("hello"));
    assert_true(fn_name_valid("a"));
    assert_true(fn_name_valid("7"));
    assert_true(fn_name_valid("My_fn-2"));
    assert_true(fn_name_valid("a-"));
}

static void test_name_rejects_empty(void **state)
{
    (void)state;
    assert_false(fn_name_valid(""));
}

static void test_name_accepts_64_chars(void **state)
{
    (void)state;
    char *s = repeat('a', 64);
    bool ok = fn_name_valid(s);
    free(s);
    assert_true(ok);
}

static void test_name_rejects_65_chars(void **state)
{
    (void)state;
    char *s = repeat('a', 65);
    bool ok = fn_name_valid(s);
    free(s);
    assert_false(ok);
}

static void test_name_rejects_leading_dash_or_underscore(void **state)
{
    (void)state;
    assert_false(fn_name_valid("-fn"));
    assert_false(fn_name_valid("_fn"));
}

static void test_name_rejects_path_traversal(void **state)
{
    (void)state;
    assert_false(fn_name_valid("../x"));
    assert_false(fn_name_valid(".."));
    assert_false(fn_name_valid("a.b"));
}

static void test_name_rejects_slash(void **state)
{
    (void)state;
    assert_false(fn_name_valid("/"));
    assert_false(fn_name_valid("a/b"));
    assert_false(fn_name_valid("a\\b"));
}

static void test_name_rejects_spaces(void **state)
{
    (void)state;
    assert_false(fn_name_valid("a b"));
    assert_false(fn_name_valid(" a"));
    assert_false(fn_name_valid("a "));
    assert_false(fn_name_valid("a\tb"));
}

static void test_name_rejects_unicode_bytes(void **state)
{
    (void)state;
    assert_false(fn_name_valid("caf\xc3\xa9"));
    assert_false(fn_name_valid("\xc3\xa9t\xc3\xa9"));
    assert_false(fn_name_valid("a\xff"));
}

/* ---- handler_split -------------------------------------------------------- */

static void test_handler_module_and_function(void **state)
{
    (void)state;
    assert_split("index.handler", "nodejs20", "index", "handler");
}

static void test_handler_without_dot_python_uses_main(void **state)
{
    (void)state;
    assert_split("handler", "python311", "main", "handler");
}

static void test_handler_without_dot_node_uses_index(void **state)
{
    (void)state;
    assert_split("handler", "nodejs20", "index", "handler");
}

static void test_handler_without_dot_or_runtime_uses_index(void **state)
{
    (void)state;
    assert_split("handler", NULL, "index", "handler");
}

static void test_handler_module_in_subdirectory(void **state)
{
    (void)state;
    assert_split("src/app.handler", "nodejs20", "src/app", "handler");
}

static void test_handler_splits_at_last_dot(void **state)
{
    (void)state;
    assert_split("a.b.c", "nodejs20", "a.b", "c");
}

static void test_handler_function_may_hold_underscore_dollar_digits(void **state)
{
    (void)state;
    assert_split("my-mod.$_h1", "nodejs20", "my-mod", "$_h1");
}

static void test_handler_accepts_128_chars(void **state)
{
    (void)state;
    char *h = repeat('m', 128);
    h[120] = '.';
    split_t r = split(h, "nodejs20");
    free(h);
    assert_true(r.ok);
    assert_int_equal(strlen(r.module), 120);
    assert_string_equal(r.func, "mmmmmmm");
}

static void test_handler_rejects_empty(void **state)
{
    (void)state;
    assert_split_refused("", "handler must be 1 to 128 characters");
}

static void test_handler_rejects_129_chars(void **state)
{
    (void)state;
    char *h = repeat('m', 129);
    h[5] = '.';
    split_t r = split(h, "nodejs20");
    free(h);
    assert_false(r.ok);
    assert_string_equal(r.err, "handler must be 1 to 128 characters");
}

static void test_handler_rejects_missing_function(void **state)
{
    (void)state;
    assert_split_refused("index.",
                         "handler 'index.': the function name after the last '.' is missing or invalid");
}

static void test_handler_rejects_function_starting_with_digit(void **state)
{
    (void)state;
    assert_split_refused("x.1abc",
                         "handler 'x.1abc': the function name after the last '.' is missing or invalid");
}

static void test_handler_rejects_bad_function_character(void **state)
{
    (void)state;
    assert_split_refused("index.my-fn",
                         "handler 'index.my-fn': function name may only hold letters, digits, '_' and '$'");
    assert_split_refused("src/app",
                         "handler 'src/app': function name may only hold letters, digits, '_' and '$'");
}

static void test_handler_rejects_missing_module(void **state)
{
    (void)state;
    assert_split_refused(".handler", "handler '.handler': module name is missing or not relative");
}

static void test_handler_rejects_parent_dir(void **state)
{
    (void)state;
    assert_split_refused("../x.handler",
                         "handler '../x.handler': module name is missing or not relative");
    assert_split_refused("a/../b.h",
                         "handler 'a/../b.h': module may only hold letters, digits, '_', '-', '.' and '/'");
}

static void test_handler_rejects_absolute_module(void **state)
{
    (void)state;
    assert_split_refused("/abs.handler",
                         "handler '/abs.handler': module name is missing or not relative");
}

static void test_handler_rejects_double_slash(void **state)
{
    (void)state;
    assert_split_refused("a//b.h",
                         "handler 'a//b.h': module may only hold letters, digits, '_', '-', '.' and '/'");
}

static void test_handler_rejects_dot_segment(void **state)
{
    (void)state;
    assert_split_refused("a/./b.h", "handler 'a/./b.h': module path is not allowed");
    assert_split_refused("a/.hidden.h", "handler 'a/.hidden.h': module path is not allowed");
}

static void test_handler_rejects_empty_last_path_segment(void **state)
{
    (void)state;
    assert_split_refused("src/.h", "handler 'src/.h': module path is not allowed");
}

static void test_handler_rejects_bad_module_character(void **state)
{
    (void)state;
    assert_split_refused("my mod.h",
                         "handler 'my mod.h': module may only hold letters, digits, '_', '-', '.' and '/'");
    assert_split_refused("a\\b.h",
                         "handler 'a\\b.h': module may only hold letters, digits, '_', '-', '.' and '/'");
}

/* ---- fn_input_parse: create --------------------------------------------- */

static void test_create_minimal_body_gets_defaults(void **state)
{
    (void)state;
    parsed_t p;
    parse(&p, "{" CREATE_FIELDS "}", true);
    assert_parsed_ok(&p);
    assert_string_equal(p.in.cfg.name, "f");
    assert_string_equal(p.in.cfg.runtime, "nodejs20");
    assert_int_equal(p.in.cfg.memory_mb, 128);
    assert_int_equal(p.in.cfg.timeout_s, 30);
    assert_int_equal(p.in.cfg.concurrency, 10);
    assert_int_equal(p.in.cfg.idle_timeout_s, 300);
    assert_true(json_is_object(p.in.cfg.env));
    assert_int_equal(json_object_size(p.in.cfg.env), 0);
    assert_non_null(p.in.code);
    assert_string_equal(p.in.code, "x");
    assert_int_equal(p.in.code_len, 1);
    parsed_clear(&p);
}

static void test_create_node_default_handler_is_index_handler(void **state)
{
    (void)state;
    parsed_t p;
    parse(&p, "{" CREATE_FIELDS "}", true);
    assert_parsed_ok(&p);
    assert_true(p.in.has_handler);
    assert_string_equal(p.in.cfg.handler, "index.handler");
    parsed_clear(&p);
}

static void test_create_python_default_handler_is_main_handler(void **state)
{
    (void)state;
    parsed_t p;
    parse(&p, "{\"name\":\"f\",\"runtime\":\"python311\",\"code\":\"x\"}", true);
    assert_parsed_ok(&p);
    assert_true(p.in.has_handler);
    assert_string_equal(p.in.cfg.handler, "main.handler");
    parsed_clear(&p);
}

static void test_create_keeps_every_given_field(void **state)
{
    (void)state;
    parsed_t p;
    parse(&p,
          "{\"name\":\"fn-1\",\"runtime\":\"python39\",\"handler\":\"src/app.run\",\"code\":\"print(1)\","
          "\"env\":{\"A\":\"1\"},\"memory_mb\":256,\"timeout_s\":60,\"concurrency\":5,"
          "\"idle_timeout_s\":900}",
          true);
    assert_parsed_ok(&p);
    assert_string_equal(p.in.cfg.name, "fn-1");
    assert_string_equal(p.in.cfg.runtime, "python39");
    assert_string_equal(p.in.cfg.handler, "src/app.run");
    assert_string_equal(p.in.code, "print(1)");
    assert_int_equal(p.in.code_len, 8);
    assert_string_equal(json_string_value(json_object_get(p.in.cfg.env, "A")), "1");
    assert_int_equal(p.in.cfg.memory_mb, 256);
    assert_int_equal(p.in.cfg.timeout_s, 60);
    assert_int_equal(p.in.cfg.concurrency, 5);
    assert_int_equal(p.in.cfg.idle_timeout_s, 900);
    assert_true(p.in.has_runtime && p.in.has_handler && p.in.has_env && p.in.has_memory &&
                p.in.has_timeout && p.in.has_concurrency && p.in.has_idle);
    parsed_clear(&p);
}

REFUSED_TEST(test_create_requires_name, true, "{\"runtime\":\"nodejs20\",\"code\":\"x\"}",
             "name is required")
REFUSED_TEST(test_create_requires_runtime, true, "{\"name\":\"f\",\"code\":\"x\"}",
             "runtime is required")
REFUSED_TEST(test_create_requires_code, true, "{\"name\":\"f\",\"runtime\":\"nodejs20\"}",
             "code or zip is required")
REFUSED_TEST(test_create_rejects_empty_code, true,
             "{\"name\":\"f\",\"runtime\":\"nodejs20\",\"code\":\"\"}", "code must not be empty")
REFUSED_TEST(test_rejects_invalid_name, true,
             "{\"name\":\"../x\",\"runtime\":\"nodejs20\",\"code\":\"x\"}",
             "name must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
REFUSED_TEST(test_rejects_unknown_runtime, true,
             "{\"name\":\"f\",\"runtime\":\"ruby33\",\"code\":\"x\"}",
             "unknown runtime 'ruby33' (see GET /api/v1/runtimes)")
REFUSED_TEST(test_create_rejects_invalid_handler, true, "{" CREATE_FIELDS ",\"handler\":\"index.\"}",
             "handler 'index.': the function name after the last '.' is missing or invalid")
REFUSED_TEST(test_rejects_unknown_field, true, "{" CREATE_FIELDS ",\"color\":\"red\"}",
             "unknown field 'color'")
REFUSED_TEST(test_update_rejects_unknown_field, false, "{\"memory\":256}",
             "unknown field 'memory'")
REFUSED_TEST(test_rejects_array_body, true, "[]", "request body must be a JSON object")
REFUSED_TEST(test_rejects_string_body, false, "\"x\"", "request body must be a JSON object")

static void test_rejects_code_over_50_mib(void **state)
{
    (void)state;
    char *code = repeat('x', FN_CODE_MAX + 1);
    json_t *body = json_pack("{s:s, s:s, s:s}", "name", "f", "runtime", "nodejs20", "code", code);
    free(code);
    parsed_t p;
    parse_json(&p, body, true);
    assert_int_equal(p.rc, -1);
    assert_string_equal(p.err, "code is larger than 52428800 bytes");
    parsed_clear(&p);
}

/* ---- fn_input_parse: wrong JSON types ----------------------------------- */

REFUSED_TEST(test_name_must_be_a_string, true,
             "{\"name\":1,\"runtime\":\"nodejs20\",\"code\":\"x\"}", "name must be a string")
REFUSED_TEST(test_runtime_must_be_a_string, true,
             "{\"name\":\"f\",\"runtime\":true,\"code\":\"x\"}", "runtime must be a string")
REFUSED_TEST(test_handler_must_be_a_string, true, "{" CREATE_FIELDS ",\"handler\":[]}",
             "handler must be a string")
REFUSED_TEST(test_code_must_be_a_string, true,
             "{\"name\":\"f\",\"runtime\":\"nodejs20\",\"code\":5}", "code must be a string")
REFUSED_TEST(test_env_must_be_an_object, true, "{" CREATE_FIELDS ",\"env\":[\"A=1\"]}",
             "env must be an object of string values")
REFUSED_TEST(test_memory_must_be_an_integer, true, "{" CREATE_FIELDS ",\"memory_mb\":\"128\"}",
             "memory_mb must be an integer")
REFUSED_TEST(test_memory_must_not_be_a_real, true, "{" CREATE_FIELDS ",\"memory_mb\":128.0}",
             "memory_mb must be an integer")
REFUSED_TEST(test_timeout_must_be_an_integer, true, "{" CREATE_FIELDS ",\"timeout_s\":null}",
             "timeout_s must be an integer")
REFUSED_TEST(test_concurrency_must_be_an_integer, true, "{" CREATE_FIELDS ",\"concurrency\":{}}",
             "concurrency must be an integer")
REFUSED_TEST(test_idle_timeout_must_be_an_integer, true,
             "{" CREATE_FIELDS ",\"idle_timeout_s\":false}", "idle_timeout_s must be an integer")

/* ---- fn_input_parse: limits --------------------------------------------- */

static void test_accepts_lowest_limits(void **state)
{
    (void)state;
    parsed_t p;
    parse(&p, "{" CREATE_FIELDS ",\"memory_mb\":64,\"timeout_s\":1,\"concurrency\":1,\"idle_timeout_s\":1}",
          true);
    assert_parsed_ok(&p);
    assert_int_equal(p.in.cfg.memory_mb, 64);
    assert_int_equal(p.in.cfg.timeout_s, 1);
    assert_int_equal(p.in.cfg.concurrency, 1);
    assert_int_equal(p.in.cfg.idle_timeout_s, 1);
    parsed_clear(&p);
}

static void test_accepts_highest_limits(void **state)
{
    (void)state;
    parsed_t p;
    parse(&p,
          "{" CREATE_FIELDS ",\"memory_mb\":10240,\"timeout_s\":900,\"concurrency\":1000,"
          "\"idle_timeout_s\":86400}",
          true);
    assert_parsed_ok(&p);
    assert_int_equal(p.in.cfg.memory_mb, 10240);
    assert_int_equal(p.in.cfg.timeout_s, 900);
    assert_int_equal(p.in.cfg.concurrency, 1000);
    assert_int_equal(p.in.cfg.idle_timeout_s, 86400);
    parsed_clear(&p);
}

REFUSED_TEST(test_memory_below_minimum, true, "{" CREATE_FIELDS ",\"memory_mb\":63}",
             "memory_mb must be between 64 and 10240")
REFUSED_TEST(test_memory_above_maximum, true, "{" CREATE_FIELDS ",\"memory_mb\":10241}",
             "memory_mb must be between 64 and 10240")
REFUSED_TEST(test_memory_far_above_int_range, false, "{\"memory_mb\":4294967360}",
             "memory_mb must be between 64 and 10240")
REFUSED_TEST(test_timeout_below_minimum, true, "{" CREATE_FIELDS ",\"timeout_s\":0}",
             "timeout_s must be between 1 and 900")
REFUSED_TEST(test_timeout_above_maximum, true, "{" CREATE_FIELDS ",\"timeout_s\":901}",
             "timeout_s must be between 1 and 900")
REFUSED_TEST(test_concurrency_below_minimum, true, "{" CREATE_FIELDS ",\"concurrency\":-1}",
             "concurrency must be between 0 and 1000")
REFUSED_TEST(test_concurrency_above_maximum, true, "{" CREATE_FIELDS ",\"concurrency\":1001}",
             "concurrency must be between 0 and 1000")
REFUSED_TEST(test_idle_timeout_below_minimum, true, "{" CREATE_FIELDS ",\"idle_timeout_s\":-1}",
             "idle_timeout_s must be between 1 and 86400")
REFUSED_TEST(test_idle_timeout_above_maximum, true,
             "{" CREATE_FIELDS ",\"idle_timeout_s\":86401}",
             "idle_timeout_s must be between 1 and 86400")

/* ---- fn_input_parse: env ------------------------------------------------ */

static void test_env_object_of_strings_is_copied(void **state)
{
    (void)state;
    parsed_t p;
    parse(&p, "{" CREATE_FIELDS ",\"env\":{\"A\":\"1\",\"b_2\":\"two words\",\"PATH\":\"/opt/bin\"}}",
          true);
    assert_parsed_ok(&p);
    assert_true(p.in.has_env);
    json_t *given = json_object_get(p.body, "env");
    assert_true(json_equal(p.in.cfg.env, given));
    assert_ptr_not_equal(p.in.cfg.env, given); /* a copy: it outlives the body */
    parsed_clear(&p);
}

static void test_env_empty_object_is_accepted(void **state)
{
    (void)state;
    parsed_t p;
    parse(&p, "{\"env\":{}}", false);
    assert_parsed_ok(&p);
    assert_true(p.in.has_env);
    assert_int_equal(json_object_size(p.in.cfg.env), 0);
    parsed_clear(&p);
}

REFUSED_TEST(test_env_value_must_be_a_string, true, "{" CREATE_FIELDS ",\"env\":{\"A\":1}}",
             "env.A must be a string")
REFUSED_TEST(test_env_null_value_is_refused, false, "{\"env\":{\"A\":null}}",
             "env.A must be a string")
REFUSED_TEST(test_env_rejects_aws_lambda_prefix, true,
             "{" CREATE_FIELDS ",\"env\":{\"AWS_LAMBDA_FOO\":\"x\"}}",
             "env key 'AWS_LAMBDA_FOO' is not allowed (letters, digits and '_'; reserved Lambda names refused)")
REFUSED_TEST(test_env_rejects_handler_key, true, "{" CREATE_FIELDS ",\"env\":{\"_HANDLER\":\"x\"}}",
             "env key '_HANDLER' is not allowed (letters, digits and '_'; reserved Lambda names refused)")
REFUSED_TEST(test_env_rejects_task_root_key, false, "{\"env\":{\"LAMBDA_TASK_ROOT\":\"/\"}}",
             "env key 'LAMBDA_TASK_ROOT' is not allowed (letters, digits and '_'; reserved Lambda names refused)")
REFUSED_TEST(test_env_rejects_runtime_dir_key, false, "{\"env\":{\"LAMBDA_RUNTIME_DIR\":\"/\"}}",
             "env key 'LAMBDA_RUNTIME_DIR' is not allowed (letters, digits and '_'; reserved Lambda names refused)")
REFUSED_TEST(test_env_rejects_runtime_api_key, false, "{\"env\":{\"AWS_LAMBDA_RUNTIME_API\":\"h\"}}",
             "env key 'AWS_LAMBDA_RUNTIME_API' is not allowed (letters, digits and '_'; reserved Lambda names refused)")
REFUSED_TEST(test_env_rejects_key_with_dash, false, "{\"env\":{\"A-B\":\"x\"}}",
             "env key 'A-B' is not allowed (letters, digits and '_'; reserved Lambda names refused)")
REFUSED_TEST(test_env_rejects_key_with_leading_digit, false, "{\"env\":{\"1A\":\"x\"}}",
             "env key '1A' is not allowed (letters, digits and '_'; reserved Lambda names refused)")
REFUSED_TEST(test_env_rejects_key_with_equals, false, "{\"env\":{\"A=B\":\"x\"}}",
             "env key 'A=B' is not allowed (letters, digits and '_'; reserved Lambda names refused)")
REFUSED_TEST(test_env_rejects_empty_key, false, "{\"env\":{\"\":\"x\"}}",
             "env key '' is not allowed (letters, digits and '_'; reserved Lambda names refused)")

static void test_env_rejects_nul_in_value(void **state)
{
    (void)state;
    json_t *body = json_pack("{s:{s:s#}}", "env", "A", "a\0b", (int)3);
    assert_non_null(body);
    parsed_t p;
    parse_json(&p, body, false);
    assert_int_equal(p.rc, -1);
    assert_string_equal(p.err, "env.A must not contain NUL");
    parsed_clear(&p);
}

/* fn_spec.c counts strlen(key) + strlen(value) + 2 per entry ("K=V\0"). */
static json_t *env_body_of_size(size_t total)
{
    char *v = repeat('v', total - 1 - 2);
    json_t *body = json_pack("{s:{s:s}}", "env", "A", v);
    free(v);
    assert_non_null(body);
    return body;
}

static void test_env_of_4096_bytes_is_accepted(void **state)
{
    (void)state;
    parsed_t p;
    parse_json(&p, env_body_of_size(4096), false);
    assert_parsed_ok(&p);
    parsed_clear(&p);
}

static void test_env_over_4096_bytes_is_refused(void **state)
{
    (void)state;
    parsed_t p;
    parse_json(&p, env_body_of_size(4097), false);
    assert_int_equal(p.rc, -1);
    assert_string_equal(p.err, "env is larger than 4096 bytes");
    parsed_clear(&p);
}

/* ---- fn_input_parse: update --------------------------------------------- */

static void test_update_accepts_empty_body(void **state)
{
    (void)state;
    parsed_t p;
    parse(&p, "{}", false);
    assert_parsed_ok(&p);
    assert_false(p.in.has_runtime || p.in.has_handler || p.in.has_env || p.in.has_memory ||
                 p.in.has_timeout || p.in.has_concurrency || p.in.has_idle);
    assert_string_equal(p.in.cfg.name, "");
    assert_null(p.in.code);
    assert_int_equal(p.in.code_len, 0);
    parsed_clear(&p);
}

/* The API passes an uninitialised fn_input_t: stale flags must not survive. */
static void test_update_sets_only_the_flags_it_got(void **state)
{
    (void)state;
    parsed_t p;
    json_t *body = json_loads("{\"memory_mb\":256,\"env\":{\"A\":\"b\"}}", 0, NULL);
    assert_non_null(body);
    memset(&p, 0, sizeof p);
    p.body = body;
    memset(&p.in, 0x01, sizeof p.in); /* every bool true, as garbage would be */
    p.rc = fn_input_parse(body, false, &p.in, p.err, sizeof p.err);
    assert_parsed_ok(&p);
    assert_true(p.in.has_memory);
    assert_true(p.in.has_env);
    assert_false(p.in.has_runtime);
    assert_false(p.in.has_handler);
    assert_false(p.in.has_timeout);
    assert_false(p.in.has_concurrency);
    assert_false(p.in.has_idle);
    assert_null(p.in.code);
    assert_int_equal(p.in.cfg.memory_mb, 256);
    parsed_clear(&p);
}

static void test_update_does_not_default_the_handler(void **state)
{
    (void)state;
    parsed_t p;
    parse(&p, "{\"runtime\":\"python311\"}", false);
    assert_parsed_ok(&p);
    assert_true(p.in.has_runtime);
    assert_false(p.in.has_handler);
    assert_string_equal(p.in.cfg.handler, "");
    parsed_clear(&p);
}

static void test_update_code_only(void **state)
{
    (void)state;
    parsed_t p;
    parse(&p, "{\"code\":\"exports.handler=()=>1\"}", false);
    assert_parsed_ok(&p);
    assert_string_equal(p.in.code, "exports.handler=()=>1");
    assert_int_equal(p.in.code_len, strlen("exports.handler=()=>1"));
    assert_false(p.in.has_runtime || p.in.has_handler);
    parsed_clear(&p);
}

static void test_update_handler_alone_is_validated(void **state)
{
    (void)state;
    parsed_t p;
    parse(&p, "{\"handler\":\"app.main\"}", false);
    assert_parsed_ok(&p);
    assert_true(p.in.has_handler);
    assert_string_equal(p.in.cfg.handler, "app.main");
    parsed_clear(&p);
}

REFUSED_TEST(test_update_rejects_bad_handler, false, "{\"handler\":\"../x.handler\"}",
             "handler '../x.handler': module name is missing or not relative")
REFUSED_TEST(test_update_rejects_bad_name, false, "{\"name\":\"a b\"}",
             "name must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
REFUSED_TEST(test_update_rejects_empty_code, false, "{\"code\":\"\"}", "code must not be empty")
REFUSED_TEST(test_update_rejects_out_of_range_limit, false, "{\"timeout_s\":1000}",
             "timeout_s must be between 1 and 900")

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* fn_name_valid */
        cmocka_unit_test(test_name_accepts_letters_digits_dash_underscore),
        cmocka_unit_test(test_name_rejects_empty),
        cmocka_unit_test(test_name_accepts_64_chars),
        cmocka_unit_test(test_name_rejects_65_chars),
        cmocka_unit_test(test_name_rejects_leading_dash_or_underscore),
        cmocka_unit_test(test_name_rejects_path_traversal),
        cmocka_unit_test(test_name_rejects_slash),
        cmocka_unit_test(test_name_rejects_spaces),
        cmocka_unit_test(test_name_rejects_unicode_bytes),
        /* handler_split */
        cmocka_unit_test(test_handler_module_and_function),
        cmocka_unit_test(test_handler_without_dot_python_uses_main),
        cmocka_unit_test(test_handler_without_dot_node_uses_index),
        cmocka_unit_test(test_handler_without_dot_or_runtime_uses_index),
        cmocka_unit_test(test_handler_module_in_subdirectory),
        cmocka_unit_test(test_handler_splits_at_last_dot),
        cmocka_unit_test(test_handler_function_may_hold_underscore_dollar_digits),
        cmocka_unit_test(test_handler_accepts_128_chars),
        cmocka_unit_test(test_handler_rejects_empty),
        cmocka_unit_test(test_handler_rejects_129_chars),
        cmocka_unit_test(test_handler_rejects_missing_function),
        cmocka_unit_test(test_handler_rejects_function_starting_with_digit),
        cmocka_unit_test(test_handler_rejects_bad_function_character),
        cmocka_unit_test(test_handler_rejects_missing_module),
        cmocka_unit_test(test_handler_rejects_parent_dir),
        cmocka_unit_test(test_handler_rejects_absolute_module),
        cmocka_unit_test(test_handler_rejects_double_slash),
        cmocka_unit_test(test_handler_rejects_dot_segment),
        cmocka_unit_test(test_handler_rejects_empty_last_path_segment),
        cmocka_unit_test(test_handler_rejects_bad_module_character),
        /* fn_input_parse: create */
        cmocka_unit_test(test_create_minimal_body_gets_defaults),
        cmocka_unit_test(test_create_node_default_handler_is_index_handler),
        cmocka_unit_test(test_create_python_default_handler_is_main_handler),
        cmocka_unit_test(test_create_keeps_every_given_field),
        cmocka_unit_test(test_create_requires_name),
        cmocka_unit_test(test_create_requires_runtime),
        cmocka_unit_test(test_create_requires_code),
        cmocka_unit_test(test_create_rejects_empty_code),
        cmocka_unit_test(test_rejects_invalid_name),
        cmocka_unit_test(test_rejects_unknown_runtime),
        cmocka_unit_test(test_create_rejects_invalid_handler),
        cmocka_unit_test(test_rejects_unknown_field),
        cmocka_unit_test(test_update_rejects_unknown_field),
        cmocka_unit_test(test_rejects_array_body),
        cmocka_unit_test(test_rejects_string_body),
        cmocka_unit_test(test_rejects_code_over_50_mib),
        /* wrong JSON types */
        cmocka_unit_test(test_name_must_be_a_string),
        cmocka_unit_test(test_runtime_must_be_a_string),
        cmocka_unit_test(test_handler_must_be_a_string),
        cmocka_unit_test(test_code_must_be_a_string),
        cmocka_unit_test(test_env_must_be_an_object),
        cmocka_unit_test(test_memory_must_be_an_integer),
        cmocka_unit_test(test_memory_must_not_be_a_real),
        cmocka_unit_test(test_timeout_must_be_an_integer),
        cmocka_unit_test(test_concurrency_must_be_an_integer),
        cmocka_unit_test(test_idle_timeout_must_be_an_integer),
        /* limits */
        cmocka_unit_test(test_accepts_lowest_limits),
        cmocka_unit_test(test_accepts_highest_limits),
        cmocka_unit_test(test_memory_below_minimum),
        cmocka_unit_test(test_memory_above_maximum),
        cmocka_unit_test(test_memory_far_above_int_range),
        cmocka_unit_test(test_timeout_below_minimum),
        cmocka_unit_test(test_timeout_above_maximum),
        cmocka_unit_test(test_concurrency_below_minimum),
        cmocka_unit_test(test_concurrency_above_maximum),
        cmocka_unit_test(test_idle_timeout_below_minimum),
        cmocka_unit_test(test_idle_timeout_above_maximum),
        /* env */
        cmocka_unit_test(test_env_object_of_strings_is_copied),
        cmocka_unit_test(test_env_empty_object_is_accepted),
        cmocka_unit_test(test_env_value_must_be_a_string),
        cmocka_unit_test(test_env_null_value_is_refused),
        cmocka_unit_test(test_env_rejects_aws_lambda_prefix),
        cmocka_unit_test(test_env_rejects_handler_key),
        cmocka_unit_test(test_env_rejects_task_root_key),
        cmocka_unit_test(test_env_rejects_runtime_dir_key),
        cmocka_unit_test(test_env_rejects_runtime_api_key),
        cmocka_unit_test(test_env_rejects_key_with_dash),
        cmocka_unit_test(test_env_rejects_key_with_leading_digit),
        cmocka_unit_test(test_env_rejects_key_with_equals),
        cmocka_unit_test(test_env_rejects_empty_key),
        cmocka_unit_test(test_env_rejects_nul_in_value),
        cmocka_unit_test(test_env_of_4096_bytes_is_accepted),
        cmocka_unit_test(test_env_over_4096_bytes_is_refused),
        /* update */
        cmocka_unit_test(test_update_accepts_empty_body),
        cmocka_unit_test(test_update_sets_only_the_flags_it_got),
        cmocka_unit_test(test_update_does_not_default_the_handler),
        cmocka_unit_test(test_update_code_only),
        cmocka_unit_test(test_update_handler_alone_is_validated),
        cmocka_unit_test(test_update_rejects_bad_handler),
        cmocka_unit_test(test_update_rejects_bad_name),
        cmocka_unit_test(test_update_rejects_empty_code),
        cmocka_unit_test(test_update_rejects_out_of_range_limit),
    };
    return cmocka_run_group_tests_name("fn_spec", tests, NULL, NULL);
}
