/* Unit tests of src/sandbox/vm_channel.{h,c}: the microVM channel's frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox/vm_channel.h"

static void test_a_data_frame_round_trips(void **state)
{
    uint8_t buf[VMC_HEADER + 5];
    vmc_header(buf, VMC_DATA, 0x1234, 5);
    memcpy(buf + VMC_HEADER, "hello", 5);
    assert_memory_equal(buf, "D\0\x34\x12\5\0\0\0", VMC_HEADER);
    vmc_frame_t f;
    assert_int_equal(vmc_parse(buf, sizeof buf, &f), VMC_HEADER + 5);
    assert_int_equal(f.type, VMC_DATA);
    assert_int_equal(f.stream, 0x1234);
    assert_int_equal(f.len, 5);
    assert_ptr_equal(f.payload, buf + VMC_HEADER);
}

static void test_a_partial_frame_asks_for_more(void **state)
{
    uint8_t buf[VMC_HEADER + 5];
    vmc_header(buf, VMC_DATA, 1, 5);
    vmc_frame_t f;
    for (size_t n = 0; n < sizeof buf; n++)
        assert_int_equal(vmc_parse(buf, n, &f), 0);
}

static void test_open_and_close_carry_nothing(void **state)
{
    uint8_t buf[VMC_HEADER];
    vmc_frame_t f;
    vmc_header(buf, VMC_OPEN, 7, 0);
    assert_int_equal(vmc_parse(buf, sizeof buf, &f), VMC_HEADER);
    assert_int_equal(f.type, VMC_OPEN);
    vmc_header(buf, VMC_CLOSE, 7, 1);
    assert_int_equal(vmc_parse(buf, sizeof buf, &f), -1);
}

static void test_malformed_headers_are_refused(void **state)
{
    uint8_t buf[VMC_HEADER];
    vmc_frame_t f;
    vmc_header(buf, 'X', 1, 0); /* an unknown type */
    assert_int_equal(vmc_parse(buf, sizeof buf, &f), -1);
    vmc_header(buf, VMC_DATA, 1, VMC_PAYLOAD_MAX + 1); /* over the limit, before its payload came */
    assert_int_equal(vmc_parse(buf, sizeof buf, &f), -1);
    vmc_header(buf, VMC_DATA, 1, 0);
    buf[1] = 1; /* the reserved byte */
    assert_int_equal(vmc_parse(buf, sizeof buf, &f), -1);
}

/* Read from a pipe: the header's fields, its payload left in the pipe; a
 * malformed header is -2 with its fields, the end is -1. */
static void test_headers_are_read_from_a_descriptor(void **state)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(vmc_send(p[1], VMC_DATA, 3, "abc", 3), 0);
    uint8_t bad[VMC_HEADER];
    vmc_header(bad, VMC_CLOSE, 9, 2); /* CLOSE carries nothing */
    assert_int_equal(write(p[1], bad, sizeof bad), sizeof bad);
    assert_int_equal(write(p[1], "D\0", 2), 2); /* a header cut short by the end */
    close(p[1]);
    vmc_frame_t f;
    char got[3];
    assert_int_equal(vmc_read_header(p[0], &f), 0);
    assert_int_equal(f.type, VMC_DATA);
    assert_int_equal(f.stream, 3);
    assert_int_equal(f.len, 3);
    assert_null(f.payload);
    assert_int_equal(vmc_read_full(p[0], got, 3), 0);
    assert_memory_equal(got, "abc", 3);
    assert_int_equal(vmc_read_header(p[0], &f), -2);
    assert_int_equal(f.type, VMC_CLOSE);
    assert_int_equal(f.stream, 9);
    assert_int_equal(f.len, 2);
    assert_int_equal(vmc_read_header(p[0], &f), -1);
    close(p[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_data_frame_round_trips),
        cmocka_unit_test(test_a_partial_frame_asks_for_more),
        cmocka_unit_test(test_open_and_close_carry_nothing),
        cmocka_unit_test(test_malformed_headers_are_refused),
        cmocka_unit_test(test_headers_are_read_from_a_descriptor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
