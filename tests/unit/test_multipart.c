/* multipart/form-data: the part curl -F sends, and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "api/multipart.h"

#define CT "multipart/form-data; boundary=------------------------abc123"
#define DELIM "--------------------------abc123"

static const char BODY[] = DELIM "\r\n"
                           "Content-Disposition: form-data; name=\"note\"\r\n\r\n"
                           "hello\r\n"
                           DELIM "\r\n"
                           "Content-Disposition: form-data; name=\"file\"; filename=\"myfunc.zip\"\r\n"
                           "Content-Type: application/zip\r\n\r\n"
                           "PK\x03\x04zipbytes\r\nwith a CRLF inside\r\n"
                           DELIM "--\r\n";

static void finds_the_file_part(void **state)
{
    form_part_t p;
    char err[128];
    assert_int_equal(multipart_find(CT, BODY, sizeof BODY - 1, "file", &p, err, sizeof err), 0);
    assert_string_equal(p.filename, "myfunc.zip");
    const char want[] = "PK\x03\x04zipbytes\r\nwith a CRLF inside";
    assert_int_equal(p.len, sizeof want - 1);
    assert_memory_equal(p.data, want, sizeof want - 1);
    assert_int_equal(multipart_find(CT, BODY, sizeof BODY - 1, "note", &p, err, sizeof err), 0);
    assert_int_equal(p.len, 5);
    assert_string_equal(p.filename, "");
}

static void quoted_boundary_and_escaped_filename(void **state)
{
    const char body[] = "--b\r\nContent-Disposition: form-data; filename=\"a\\\"b.zip\"; name=\"file\"\r\n\r\nX\r\n--b--";
    form_part_t p;
    char err[128];
    assert_int_equal(multipart_find("multipart/form-data; boundary=\"b\"", body, sizeof body - 1, "file", &p,
                                    err, sizeof err),
                     0);
    assert_string_equal(p.filename, "a\"b.zip");
    assert_int_equal(p.len, 1);
}

static void refusals(void **state)
{
    form_part_t p;
    char err[128];
    assert_int_equal(multipart_find("application/json", BODY, sizeof BODY - 1, "file", &p, err, sizeof err), -1);
    assert_string_equal(err, "the body must be multipart/form-data with a boundary");
    assert_int_equal(multipart_find(NULL, BODY, sizeof BODY - 1, "file", &p, err, sizeof err), -1);
    assert_int_equal(multipart_find("multipart/form-data", BODY, sizeof BODY - 1, "file", &p, err, sizeof err), -1);
    assert_int_equal(multipart_find(CT, BODY, sizeof BODY - 1, "missing", &p, err, sizeof err), -1);
    assert_string_equal(err, "the form has no 'missing' field");
    /* Cut before the closing delimiter of the file part. */
    size_t cut = (size_t)(strstr(BODY, "with a CRLF") - BODY);
    assert_int_equal(multipart_find(CT, BODY, cut, "file", &p, err, sizeof err), -1);
    assert_string_equal(err, "the multipart body is malformed or truncated");
    assert_int_equal(multipart_find(CT, "", 0, "file", &p, err, sizeof err), -1);
    /* "filename" must not be taken for "name". */
    const char only_filename[] = "--b\r\nContent-Disposition: form-data; filename=\"file\"\r\n\r\nX\r\n--b--";
    assert_int_equal(multipart_find("multipart/form-data; boundary=b", only_filename, sizeof only_filename - 1,
                                    "file", &p, err, sizeof err),
                     -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_the_file_part),
        cmocka_unit_test(quoted_boundary_and_escaped_filename),
        cmocka_unit_test(refusals),
    };
    return cmocka_run_group_tests_name("multipart", tests, NULL, NULL);
}
