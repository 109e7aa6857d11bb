/* Unit tests of src/sandbox/vm_channel.{h,c}: the microVM channel's frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_data_frame_round_trips),
        cmocka_unit_test(test_a_partial_frame_asks_for_more),
        cmocka_unit_test(test_open_and_close_carry_nothing),
        cmocka_unit_test(test_malformed_headers_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
