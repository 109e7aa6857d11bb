/* Unit tests of uuid4 (src/util/util.c): RFC 4122 version 4 ids, drawn from a
 * buffer of random bytes that is refilled every 16 ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/util.h"

enum { N = 100 }; /* more than one refill of the buffer */

static void test_ids_have_the_version_4_layout(void **state)
{
    (void)state;
    for (int n = 0; n < N; n++) {
        char id[37];
        memset(id, 'x', sizeof id);
        uuid4(id);
        assert_int_equal(strlen(id), 36);
        for (int i = 0; i < 36; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23)
                assert_int_equal(id[i], '-');
            else
                assert_non_null(strchr("0123456789abcdef", id[i]));
        }
        assert_int_equal(id[14], '4');                 /* version */
        assert_non_null(strchr("89ab", id[19]));       /* variant 10xx */
    }
}

static void test_ids_differ_across_refills(void **state)
{
    (void)state;
    static char ids[N][37];
    for (int n = 0; n < N; n++) {
        uuid4(ids[n]);
        for (int m = 0; m < n; m++)
            assert_string_not_equal(ids[n], ids[m]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_have_the_version_4_layout),
        cmocka_unit_test(test_ids_differ_across_refills),
    };
    return cmocka_run_group_tests_name("uuid", tests, NULL, NULL);
}
