/* Unit tests of src/api/result.{h,c}: how a function's result or error
 * becomes the HTTP response. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/result.h"

#define MALFORMED_STATUS "statusCode must be an integer from 200 to 599"
#define MALFORMED_HEADERS "headers must map header names to strings without line breaks"

/* ---- helpers ------------------------------------------------------------ */

static int map(const char *body, http_result_t *r) { return result_map(body, strlen(body), false, r); }

static const char *header(const http_result_t *r, const char *name)
{
    return json_string_value(json_object_get(r->headers, name));
}

static void assert_mapped(const char *body, http_result_t *r)
{
    if (map(body, r) != 0)
        fail_msg("result %s refused: %s", body, r->error);
}

/* The result is malformed: -1, the reason, and nothing left to free. */
static void assert_malformed(const char *body, size_t len, const char *why)
{
    http_result_t r;
    int rc = result_map(body, len, false, &r);
    if (rc == 0) {
        http_result_clear(&r);
        fail_msg("result %.*s accepted", (int)len, body);
    }
    assert_int_equal(rc, -1);
    assert_non_null(r.error);
    assert_string_equal(r.error, why);
    assert_null(r.headers);
    assert_null(r.body);
}

#define MALFORMED_TEST(test_name, text, why)                                                       \
    static void test_name(void **state)                                                            \
    {                                                                                              \
        (void)state;                                                                               \
        assert_malformed(text, strlen(text), why);                                                 \
    }

/* The plain (not HTTP-shaped) result: 200, the bytes as sent, JSON type. */
static void assert_passed_through(const char *body, size_t len)
{
    http_result_t r;
    if (result_map(body, len, false, &r) != 0)
        fail_msg("result %.*s refused: %s", (int)len, body, r.error);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, len);
    assert_memory_equal(r.body, body, len);
    assert_string_equal(header(&r, "Content-Type"), "application/json");
    assert_int_equal(json_object_size(r.headers), 1);
    http_result_clear(&r);
}

/* error_map's output, parsed. */
typedef struct {
    int status;
    json_t *body;
} mapped_error_t;

static mapped_error_t map_error(const char *body, size_t len, const char *hint)
{
    char *out = NULL;
    mapped_error_t e;
    e.status = error_map(body, len, hint, "req-1", &out);
    assert_non_null(out);
    e.body = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(e.body);
    return e;
}

static const char *field(const mapped_error_t *e, const char *key)
{
    return json_string_value(json_object_get(e->body, key));
}

/* ---- result_map: HTTP-shaped results ------------------------------------ */

static void test_http_shape_status_headers_and_body(void **state)
{
    (void)state;
    http_result_t r;
    assert_mapped("{\"statusCode\":201,\"headers\":{\"X-A\":\"b\"},\"body\":\"hi\"}", &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(header(&r, "X-A"), "b");
    assert_int_equal(r.body_len, 2);
    assert_memory_equal(r.body, "hi", 2);
    assert_string_equal(header(&r, "Content-Type"), "text/plain; charset=utf-8");
    assert_int_equal(json_object_size(r.headers), 2);
    assert_null(r.error);
    http_result_clear(&r);
}

static void test_http_shape_keeps_the_functions_content_type(void **state)
{
    (void)state;
    http_result_t r;
    assert_mapped("{\"statusCode\":200,\"headers\":{\"content-type\":\"text/html\"},\"body\":\"<p>\"}",
                  &r);
    assert_string_equal(header(&r, "content-type"), "text/html");
    assert_null(header(&r, "Content-Type"));
    assert_int_equal(json_object_size(r.headers), 1);
    http_result_clear(&r);
}

static void test_http_shape_without_body_is_empty(void **state)
{
    (void)state;
    http_result_t r;
    assert_mapped("{\"statusCode\":204}", &r);
    assert_int_equal(r.status, 204);
    assert_non_null(r.body);
    assert_int_equal(r.body_len, 0);
    http_result_clear(&r);
}

static void test_http_shape_null_body_is_empty(void **state)
{
    (void)state;
    http_result_t r;
    assert_mapped("{\"statusCode\":200,\"body\":null}", &r);
    assert_int_equal(r.body_len, 0);
    assert_string_equal(r.body, "");
    http_result_clear(&r);
}

static void test_http_shape_null_headers_are_none(void **state)
{
    (void)state;
    http_result_t r;
    assert_mapped("{\"statusCode\":200,\"headers\":null,\"body\":\"x\"}", &r);
    assert_int_equal(json_object_size(r.headers), 1); /* only the Content-Type */
    http_result_clear(&r);
}

static void test_http_shape_object_body_is_json_encoded(void **state)
{
    (void)state;
    http_result_t r;
    assert_mapped("{\"statusCode\":200,\"body\":{ \"a\" : [1, 2] }}", &r);
    assert_int_equal(r.body_len, strlen("{\"a\":[1,2]}"));
    assert_memory_equal(r.body, "{\"a\":[1,2]}", r.body_len);
    assert_string_equal(header(&r, "Content-Type"), "application/json");
    http_result_clear(&r);
}

static void test_http_shape_number_body_is_json_encoded(void **state)
{
    (void)state;
    http_result_t r;
    assert_mapped("{\"statusCode\":200,\"body\":42}", &r);
    assert_int_equal(r.body_len, 2);
    assert_memory_equal(r.body, "42", 2);
    assert_string_equal(header(&r, "Content-Type"), "application/json");
    http_result_clear(&r);
}

static void test_http_shape_base64_body_is_decoded(void **state)
{
    (void)state;
    http_result_t r;
    assert_mapped("{\"statusCode\":200,\"body\":\"AP9oaQ==\",\"isBase64Encoded\":true}", &r);
    assert_int_equal(r.body_len, 4);
    assert_memory_equal(r.body, "\x00\xffhi", 4);
    assert_string_equal(header(&r, "Content-Type"), "application/octet-stream");
    http_result_clear(&r);
}

static void test_http_shape_empty_base64_body(void **state)
{
    (void)state;
    http_result_t r;
    assert_mapped("{\"statusCode\":200,\"body\":\"\",\"isBase64Encoded\":true}", &r);
    assert_int_equal(r.body_len, 0);
    http_result_clear(&r);
}

static void test_http_shape_base64_false_keeps_the_text(void **state)
{
    (void)state;
    http_result_t r;
    assert_mapped("{\"statusCode\":200,\"body\":\"aGk=\",\"isBase64Encoded\":false}", &r);
    assert_int_equal(r.body_len, 4);
    assert_memory_equal(r.body, "aGk=", 4);
    assert_string_equal(header(&r, "Content-Type"), "text/plain; charset=utf-8");
    http_result_clear(&r);
}

static void test_http_shape_string_body_may_hold_nul(void **state)
{
    (void)state;
    http_result_t r;
    assert_mapped("{\"statusCode\":200,\"body\":\"a\\u0000b\"}", &r);
    assert_int_equal(r.body_len, 3);
    assert_memory_equal(r.body, "a\0b", 3);
    http_result_clear(&r);
}

MALFORMED_TEST(test_http_shape_bad_base64_is_malformed,
               "{\"statusCode\":200,\"body\":\"not base64!\",\"isBase64Encoded\":true}",
               "body is not valid base64 though isBase64Encoded is true")
MALFORMED_TEST(test_http_shape_base64_of_wrong_length_is_malformed,
               "{\"statusCode\":200,\"body\":\"aGk\",\"isBase64Encoded\":true}",
               "body is not valid base64 though isBase64Encoded is true")

static void test_status_boundaries_200_and_599_are_accepted(void **state)
{
    (void)state;
    http_result_t r;
    assert_mapped("{\"statusCode\":200}", &r);
    assert_int_equal(r.status, 200);
    http_result_clear(&r);
    assert_mapped("{\"statusCode\":599}", &r);
    assert_int_equal(r.status, 599);
    http_result_clear(&r);
}

MALFORMED_TEST(test_status_as_string_is_malformed, "{\"statusCode\":\"200\",\"body\":\"x\"}",
               MALFORMED_STATUS)
/* A 1xx answer lets the function write its own framing after ours. */
MALFORMED_TEST(test_status_1xx_is_malformed, "{\"statusCode\":101,\"body\":\"HTTP/1.1 200 OK\"}",
               MALFORMED_STATUS)

/* 204 and 304 carry no body: one sent anyway would be read as the next
 * response on the connection. */
static void test_bodyless_status_drops_the_body(void **state)
{
    (void)state;
    http_result_t r;
    assert_mapped("{\"statusCode\":204,\"body\":\"HTTP/1.1 200 OK\\r\\n\\r\\nforged\"}", &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body_len, 0);
    http_result_clear(&r);
    assert_mapped("{\"statusCode\":304,\"body\":{\"a\":1}}", &r);
    assert_int_equal(r.body_len, 0);
    http_result_clear(&r);
}

MALFORMED_TEST(test_status_99_is_malformed, "{\"statusCode\":99}", MALFORMED_STATUS)
MALFORMED_TEST(test_status_600_is_malformed, "{\"statusCode\":600}", MALFORMED_STATUS)
MALFORMED_TEST(test_status_real_is_malformed, "{\"statusCode\":200.5}", MALFORMED_STATUS)
MALFORMED_TEST(test_status_null_is_malformed, "{\"statusCode\":null,\"body\":\"x\"}",
               MALFORMED_STATUS)
MALFORMED_TEST(test_status_beyond_int_is_malformed, "{\"statusCode\":4294967496}",
               MALFORMED_STATUS)

/* ---- result_map: headers ------------------------------------------------- */

MALFORMED_TEST(test_header_value_with_newline_is_malformed,
               "{\"statusCode\":200,\"headers\":{\"X-A\":\"b\\nSet-Cookie: x=1\"}}", MALFORMED_HEADERS)
MALFORMED_TEST(test_header_value_with_carriage_return_is_malformed,
               "{\"statusCode\":200,\"headers\":{\"X-A\":\"b\\r\"}}", MALFORMED_HEADERS)
MALFORMED_TEST(test_header_name_with_space_is_malformed,
               "{\"statusCode\":200,\"headers\":{\"X A\":\"b\"}}", MALFORMED_HEADERS)
MALFORMED_TEST(test_header_name_with_colon_is_malformed,
               "{\"statusCode\":200,\"headers\":{\"X:A\":\"b\"}}", MALFORMED_HEADERS)
MALFORMED_TEST(test_header_name_with_newline_is_malformed,
               "{\"statusCode\":200,\"headers\":{\"X\\nA\":\"b\"}}", MALFORMED_HEADERS)
MALFORMED_TEST(test_header_empty_name_is_malformed,
               "{\"statusCode\":200,\"headers\":{\"\":\"b\"}}", MALFORMED_HEADERS)
MALFORMED_TEST(test_header_null_value_is_malformed,
               "{\"statusCode\":200,\"headers\":{\"X-A\":null}}", MALFORMED_HEADERS)
MALFORMED_TEST(test_header_object_value_is_malformed,
               "{\"statusCode\":200,\"headers\":{\"X-A\":{}}}", MALFORMED_HEADERS)
MALFORMED_TEST(test_headers_not_an_object_is_malformed,
               "{\"statusCode\":200,\"headers\":[\"X-A: b\"]}", "headers must be an object")

static void test_header_numeric_values_are_converted(void **state)
{
    (void)state;
    http_result_t r;
    assert_mapped("{\"statusCode\":200,\"headers\":{\"X-Int\":42,\"X-Neg\":-7,\"X-Real\":1.5,"
                  "\"X-Bool\":true}}",
                  &r);
    assert_string_equal(header(&r, "X-Int"), "42");
    assert_string_equal(header(&r, "X-Neg"), "-7");
    assert_string_equal(header(&r, "X-Real"), "1.5");
    assert_string_equal(header(&r, "X-Bool"), "true");
    http_result_clear(&r);
}

static void test_header_token_characters_are_accepted(void **state)
{
    (void)state;
    http_result_t r;
    assert_mapped("{\"statusCode\":200,\"headers\":{\"X-A_b.c!#$%&'*+^`|~9\":\"v\"}}", &r);
    assert_string_equal(header(&r, "X-A_b.c!#$%&'*+^`|~9"), "v");
    http_result_clear(&r);
}

/* ---- result_map: other results ------------------------------------------ */

static void test_plain_object_is_200_with_body_unchanged(void **state)
{
    (void)state;
    const char *body = "{ \"a\" : 1 }";
    assert_passed_through(body, strlen(body));
}

static void test_object_without_status_code_is_passed_through(void **state)
{
    (void)state;
    const char *body = "{\"body\":\"x\",\"headers\":{\"X-A\":\"b\"}}";
    assert_passed_through(body, strlen(body));
}

static void test_json_string_result_is_passed_through(void **state)
{
    (void)state;
    assert_passed_through("\"x\"", 3);
}

static void test_null_result_is_passed_through(void **state)
{
    (void)state;
    assert_passed_through("null", 4);
}

static void test_array_and_number_results_are_passed_through(void **state)
{
    (void)state;
    assert_passed_through("[1,2]", 5);
    assert_passed_through("3.25", 4);
}

/* ---- result_map: API Gateway's payload 2.0 answers ------------------------ */

static json_t *set_cookies(const http_result_t *r) { return json_object_get(r->headers, "Set-Cookie"); }

static void test_cookies_become_set_cookie_headers(void **state)
{
    (void)state;
    http_result_t r;
    assert_mapped("{\"statusCode\":200,\"cookies\":[\"a=1; Path=/\",\"b=2; HttpOnly\"],\"body\":\"x\"}", &r);
    json_t *c = set_cookies(&r);
    assert_true(json_is_array(c));
    assert_int_equal(json_array_size(c), 2);
    assert_string_equal(json_string_value(json_array_get(c, 0)), "a=1; Path=/");
    assert_string_equal(json_string_value(json_array_get(c, 1)), "b=2; HttpOnly");
    assert_string_equal(r.body, "x");
    http_result_clear(&r);
}

static void test_cookies_follow_a_set_cookie_header(void **state)
{
    (void)state;
    http_result_t r;
    assert_mapped("{\"statusCode\":200,\"headers\":{\"set-cookie\":\"h=0\"},\"cookies\":[\"a=1\"]}", &r);
    json_t *c = set_cookies(&r);
    assert_int_equal(json_array_size(c), 2);
    assert_string_equal(json_string_value(json_array_get(c, 0)), "h=0");
    assert_string_equal(json_string_value(json_array_get(c, 1)), "a=1");
    assert_null(json_object_get(r.headers, "set-cookie"));
    http_result_clear(&r);
}

static void test_empty_or_null_cookies_add_nothing(void **state)
{
    (void)state;
    http_result_t r;
    assert_mapped("{\"statusCode\":200,\"cookies\":null}", &r);
    assert_null(set_cookies(&r));
    http_result_clear(&r);
    assert_mapped("{\"statusCode\":200,\"cookies\":[]}", &r);
    assert_int_equal(json_array_size(set_cookies(&r)), 0);
    http_result_clear(&r);
}

MALFORMED_TEST(test_cookies_not_an_array_is_malformed, "{\"statusCode\":200,\"cookies\":\"a=1\"}",
               "cookies must be an array of strings")
MALFORMED_TEST(test_cookie_not_a_string_is_malformed, "{\"statusCode\":200,\"cookies\":[\"a=1\",2]}",
               "cookies must be an array of strings without line breaks")
MALFORMED_TEST(test_cookie_with_a_line_break_is_malformed,
               "{\"statusCode\":200,\"cookies\":[\"a=1\\r\\nX-Evil: 1\"]}",
               "cookies must be an array of strings without line breaks")

static void test_cookie_with_nul_is_malformed(void **state)
{
    (void)state;
    const char text[] = "{\"statusCode\":200,\"cookies\":[\"a=1\\u0000b\"]}";
    assert_malformed(text, sizeof text - 1, "cookies must be an array of strings without line breaks");
}

static void test_apigw_bare_string_is_the_body(void **state)
{
    (void)state;
    http_result_t r;
    const char *text = "\"Hello \\\"you\\\"\"";
    assert_int_equal(result_map(text, strlen(text), true, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "Hello \"you\"");
    assert_int_equal(r.body_len, strlen("Hello \"you\""));
    assert_string_equal(header(&r, "Content-Type"), "application/json");
    http_result_clear(&r);
}

static void test_apigw_object_without_status_code_is_its_json(void **state)
{
    (void)state;
    http_result_t r;
    const char *text = "{\"message\":\"hi\"}";
    assert_int_equal(result_map(text, strlen(text), true, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, text);
    assert_string_equal(header(&r, "Content-Type"), "application/json");
    http_result_clear(&r);
}

MALFORMED_TEST(test_not_json_is_malformed, "hello", "the function's response is not valid JSON")
MALFORMED_TEST(test_truncated_json_is_malformed, "{\"statusCode\":200",
               "the function's response is not valid JSON")

static void test_empty_result_is_malformed(void **state)
{
    (void)state;
    assert_malformed("", 0, "the function's response is not valid JSON");
}

static void test_json_followed_by_garbage_is_malformed(void **state)
{
    (void)state;
    const char text[] = "{\"a\":1} trailing";
    assert_malformed(text, sizeof text - 1, "the function's response is not valid JSON");
}

static void test_result_map_reads_only_len_bytes(void **state)
{
    (void)state;
    /* A result followed by bytes that are not part of it. */
    const char buf[] = "{\"a\":1}XXXX";
    assert_passed_through(buf, 7);
}

/* ---- error_body ---------------------------------------------------------- */

static void test_error_body_shape(void **state)
{
    (void)state;
    json_t *stack = json_pack("[s]", "at f (index.js:1)");
    char *s = error_body("TypeError", "boom", stack, "req-9");
    assert_non_null(s);
    assert_string_equal(s, "{\"errorType\":\"TypeError\",\"errorMessage\":\"boom\","
                           "\"stackTrace\":[\"at f (index.js:1)\"],\"requestId\":\"req-9\"}");
    free(s);
    /* The stack stays the caller's. */
    assert_int_equal(stack->refcount, 1);
    json_decref(stack);
}

static void test_error_body_defaults(void **state)
{
    (void)state;
    char *s = error_body(NULL, NULL, NULL, "req-9");
    assert_non_null(s);
    assert_string_equal(s, "{\"errorType\":\"Unhandled\",\"errorMessage\":\"\",\"stackTrace\":[],"
                           "\"requestId\":\"req-9\"}");
    free(s);
}

static void test_error_body_ignores_a_stack_that_is_not_an_array(void **state)
{
    (void)state;
    json_t *stack = json_string("at x");
    char *s = error_body("E", "m", stack, "r");
    assert_non_null(s);
    assert_string_equal(s, "{\"errorType\":\"E\",\"errorMessage\":\"m\",\"stackTrace\":[],\"requestId\":\"r\"}");
    free(s);
    json_decref(stack);
}

/* ---- error_map ------------------------------------------------------------ */

static void test_error_map_function_error_is_500(void **state)
{
    (void)state;
    const char *body = "{\"errorType\":\"TypeError\",\"errorMessage\":\"boom\",\"stackTrace\":[\"at x\"]}";
    mapped_error_t e = map_error(body, strlen(body), NULL);
    assert_int_equal(e.status, 500);
    assert_string_equal(field(&e, "errorType"), "TypeError");
    assert_string_equal(field(&e, "errorMessage"), "boom");
    assert_string_equal(field(&e, "requestId"), "req-1");
    json_t *stack = json_object_get(e.body, "stackTrace");
    assert_int_equal(json_array_size(stack), 1);
    assert_string_equal(json_string_value(json_array_get(stack, 0)), "at x");
    assert_int_equal(json_object_size(e.body), 4);
    json_decref(e.body);
}

static void test_error_map_runtime_error_is_502(void **state)
{
    (void)state;
    const char *body = "{\"errorType\":\"Runtime.ExitError\",\"errorMessage\":\"exit 1\"}";
    mapped_error_t e = map_error(body, strlen(body), NULL);
    assert_int_equal(e.status, 502);
    assert_string_equal(field(&e, "errorType"), "Runtime.ExitError");
    assert_string_equal(field(&e, "requestId"), "req-1");
    json_decref(e.body);
}

static void test_error_map_type_in_body_wins_over_hint(void **state)
{
    (void)state;
    const char *body = "{\"errorType\":\"TypeError\",\"errorMessage\":\"boom\"}";
    mapped_error_t e = map_error(body, strlen(body), "Runtime.Unknown");
    assert_int_equal(e.status, 500);
    assert_string_equal(field(&e, "errorType"), "TypeError");
    json_decref(e.body);
}

static void test_error_map_hint_used_when_body_has_no_type(void **state)
{
    (void)state;
    const char *body = "{\"errorMessage\":\"boom\"}";
    mapped_error_t e = map_error(body, strlen(body), "Runtime.ImportModuleError");
    assert_int_equal(e.status, 502);
    assert_string_equal(field(&e, "errorType"), "Runtime.ImportModuleError");
    assert_string_equal(field(&e, "errorMessage"), "boom");
    json_decref(e.body);
}

static void test_error_map_non_json_body_takes_type_from_hint(void **state)
{
    (void)state;
    mapped_error_t e = map_error("segfault", 8, "Runtime.ExitError");
    assert_int_equal(e.status, 502);
    assert_string_equal(field(&e, "errorType"), "Runtime.ExitError");
    assert_string_equal(field(&e, "errorMessage"), "segfault");
    assert_int_equal(json_array_size(json_object_get(e.body, "stackTrace")), 0);
    assert_string_equal(field(&e, "requestId"), "req-1");
    json_decref(e.body);
}

static void test_error_map_non_json_body_without_hint_is_unhandled(void **state)
{
    (void)state;
    mapped_error_t e = map_error("segfault", 8, NULL);
    assert_int_equal(e.status, 500);
    assert_string_equal(field(&e, "errorType"), "Unhandled");
    assert_string_equal(field(&e, "errorMessage"), "segfault");
    json_decref(e.body);
}

static void test_error_map_empty_hint_is_unhandled(void **state)
{
    (void)state;
    mapped_error_t e = map_error("oops", 4, "");
    assert_int_equal(e.status, 500);
    assert_string_equal(field(&e, "errorType"), "Unhandled");
    json_decref(e.body);
}

static void test_error_map_json_that_is_not_an_object_is_the_message(void **state)
{
    (void)state;
    mapped_error_t e = map_error("\"bad\"", 5, NULL);
    assert_int_equal(e.status, 500);
    assert_string_equal(field(&e, "errorType"), "Unhandled");
    assert_string_equal(field(&e, "errorMessage"), "\"bad\"");
    json_decref(e.body);
}

static void test_error_map_non_json_message_is_cut_at_4096_bytes(void **state)
{
    (void)state;
    char *body = malloc(5000);
    assert_non_null(body);
    memset(body, 'x', 5000);
    mapped_error_t e = map_error(body, 5000, NULL);
    free(body);
    assert_int_equal(strlen(field(&e, "errorMessage")), 4096);
    json_decref(e.body);
}

static void test_error_map_non_string_fields_are_ignored(void **state)
{
    (void)state;
    const char *body = "{\"errorType\":5,\"errorMessage\":[1],\"stackTrace\":\"at x\"}";
    mapped_error_t e = map_error(body, strlen(body), NULL);
    assert_int_equal(e.status, 500);
    assert_string_equal(field(&e, "errorType"), "Unhandled");
    assert_string_equal(field(&e, "errorMessage"), "");
    assert_int_equal(json_array_size(json_object_get(e.body, "stackTrace")), 0);
    json_decref(e.body);
}

/* A runtime that crashes may write any bytes. error_body() refuses text that
 * is not UTF-8 (json_pack "s"), so error_map hands back NULL and
 * invocation_respond_function_error() calls strlen(NULL). */
static void test_error_map_non_utf8_body_still_gives_a_body(void **state)
{
    (void)state;
    char *out = NULL;
    int status = error_map("\xff\xfe oops", 7, NULL, "req-1", &out);
    assert_int_equal(status, 500);
    assert_non_null(out);
    free(out);
}

/* Same failure when the 4096-byte cut splits a multi-byte character. */
static void test_error_map_cut_inside_a_utf8_character_still_gives_a_body(void **state)
{
    (void)state;
    char body[5000];
    memset(body, 'x', sizeof body);
    memcpy(body + 4095, "\xc3\xa9", 2); /* 'é' across the cut */
    char *out = NULL;
    error_map(body, sizeof body, NULL, "req-1", &out);
    assert_non_null(out);
    free(out);
}

static void test_error_map_non_utf8_hint_still_gives_a_body(void **state)
{
    (void)state;
    char *out = NULL;
    error_map("oops", 4, "Bad\xff", "req-1", &out);
    assert_non_null(out);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* HTTP-shaped results */
        cmocka_unit_test(test_http_shape_status_headers_and_body),
        cmocka_unit_test(test_http_shape_keeps_the_functions_content_type),
        cmocka_unit_test(test_http_shape_without_body_is_empty),
        cmocka_unit_test(test_http_shape_null_body_is_empty),
        cmocka_unit_test(test_http_shape_null_headers_are_none),
        cmocka_unit_test(test_http_shape_object_body_is_json_encoded),
        cmocka_unit_test(test_http_shape_number_body_is_json_encoded),
        cmocka_unit_test(test_http_shape_base64_body_is_decoded),
        cmocka_unit_test(test_http_shape_empty_base64_body),
        cmocka_unit_test(test_http_shape_base64_false_keeps_the_text),
        cmocka_unit_test(test_http_shape_string_body_may_hold_nul),
        cmocka_unit_test(test_http_shape_bad_base64_is_malformed),
        cmocka_unit_test(test_http_shape_base64_of_wrong_length_is_malformed),
        cmocka_unit_test(test_status_boundaries_200_and_599_are_accepted),
        cmocka_unit_test(test_status_1xx_is_malformed),
        cmocka_unit_test(test_bodyless_status_drops_the_body),
        cmocka_unit_test(test_status_as_string_is_malformed),
        cmocka_unit_test(test_status_99_is_malformed),
        cmocka_unit_test(test_status_600_is_malformed),
        cmocka_unit_test(test_status_real_is_malformed),
        cmocka_unit_test(test_status_null_is_malformed),
        cmocka_unit_test(test_status_beyond_int_is_malformed),
        /* headers */
        cmocka_unit_test(test_header_value_with_newline_is_malformed),
        cmocka_unit_test(test_header_value_with_carriage_return_is_malformed),
        cmocka_unit_test(test_header_name_with_space_is_malformed),
        cmocka_unit_test(test_header_name_with_colon_is_malformed),
        cmocka_unit_test(test_header_name_with_newline_is_malformed),
        cmocka_unit_test(test_header_empty_name_is_malformed),
        cmocka_unit_test(test_header_null_value_is_malformed),
        cmocka_unit_test(test_header_object_value_is_malformed),
        cmocka_unit_test(test_headers_not_an_object_is_malformed),
        cmocka_unit_test(test_header_numeric_values_are_converted),
        cmocka_unit_test(test_header_token_characters_are_accepted),
        /* other results */
        cmocka_unit_test(test_plain_object_is_200_with_body_unchanged),
        cmocka_unit_test(test_object_without_status_code_is_passed_through),
        cmocka_unit_test(test_json_string_result_is_passed_through),
        cmocka_unit_test(test_null_result_is_passed_through),
        cmocka_unit_test(test_array_and_number_results_are_passed_through),
        cmocka_unit_test(test_cookies_become_set_cookie_headers),
        cmocka_unit_test(test_cookies_follow_a_set_cookie_header),
        cmocka_unit_test(test_empty_or_null_cookies_add_nothing),
        cmocka_unit_test(test_cookies_not_an_array_is_malformed),
        cmocka_unit_test(test_cookie_not_a_string_is_malformed),
        cmocka_unit_test(test_cookie_with_a_line_break_is_malformed),
        cmocka_unit_test(test_cookie_with_nul_is_malformed),
        cmocka_unit_test(test_apigw_bare_string_is_the_body),
        cmocka_unit_test(test_apigw_object_without_status_code_is_its_json),
        cmocka_unit_test(test_not_json_is_malformed),
        cmocka_unit_test(test_truncated_json_is_malformed),
        cmocka_unit_test(test_empty_result_is_malformed),
        cmocka_unit_test(test_json_followed_by_garbage_is_malformed),
        cmocka_unit_test(test_result_map_reads_only_len_bytes),
        /* error_body */
        cmocka_unit_test(test_error_body_shape),
        cmocka_unit_test(test_error_body_defaults),
        cmocka_unit_test(test_error_body_ignores_a_stack_that_is_not_an_array),
        /* error_map */
        cmocka_unit_test(test_error_map_function_error_is_500),
        cmocka_unit_test(test_error_map_runtime_error_is_502),
        cmocka_unit_test(test_error_map_type_in_body_wins_over_hint),
        cmocka_unit_test(test_error_map_hint_used_when_body_has_no_type),
        cmocka_unit_test(test_error_map_non_json_body_takes_type_from_hint),
        cmocka_unit_test(test_error_map_non_json_body_without_hint_is_unhandled),
        cmocka_unit_test(test_error_map_empty_hint_is_unhandled),
        cmocka_unit_test(test_error_map_json_that_is_not_an_object_is_the_message),
        cmocka_unit_test(test_error_map_non_json_message_is_cut_at_4096_bytes),
        cmocka_unit_test(test_error_map_non_string_fields_are_ignored),
        cmocka_unit_test(test_error_map_non_utf8_body_still_gives_a_body),
        cmocka_unit_test(test_error_map_cut_inside_a_utf8_character_still_gives_a_body),
        cmocka_unit_test(test_error_map_non_utf8_hint_still_gives_a_body),
    };
    return cmocka_run_group_tests_name("result", tests, NULL, NULL);
}
