/* Unit tests of src/util/base64.{h,c}: standard base64 with padding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/base64.h"

/* RFC 4648, section 10. */
static const struct {
    const char *plain, *encoded;
} VECTORS[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};
#define N_VECTORS (sizeof VECTORS / sizeof VECTORS[0])

/* Decodes a NUL-ended string; the output buffer is sized as the header asks. */
static ssize_t decode(const char *in, unsigned char **out)
{
    size_t n = strlen(in);
    *out = malloc(n / 4 * 3 + 3);
    assert_non_null(*out);
    return base64_decode(in, n, *out);
}

static void assert_rejected(const char *in)
{
    unsigned char *out;
    ssize_t m = decode(in, &out);
    free(out);
    if (m != -1)
        fail_msg("base64_decode(\"%s\") returned %zd, expected -1", in, m);
}

static void test_encode_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_VECTORS; i++) {
        size_t n = strlen(VECTORS[i].plain);
        char out[16];
        memset(out, 'X', sizeof out);
        size_t m = base64_encode((const unsigned char *)VECTORS[i].plain, n, out);
        assert_int_equal(m, strlen(VECTORS[i].encoded));
        assert_string_equal(out, VECTORS[i].encoded); /* also checks the closing NUL */
    }
}

static void test_decode_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_VECTORS; i++) {
        unsigned char *out;
        ssize_t m = decode(VECTORS[i].encoded, &out);
        assert_int_equal(m, (ssize_t)strlen(VECTORS[i].plain));
        assert_memory_equal(out, VECTORS[i].plain, (size_t)m);
        free(out);
    }
}

static void test_decode_empty_is_zero_bytes(void **state)
{
    (void)state;
    unsigned char out[4];
    assert_int_equal(base64_decode("", 0, out), 0);
}

static void test_encode_writes_the_documented_size(void **state)
{
    (void)state;
    /* 4*ceil(n/3)+1 bytes including the NUL: nothing is written past it. */
    for (size_t n = 0; n <= 12; n++) {
        unsigned char in[12] = {0};
        size_t want = 4 * ((n + 2) / 3);
        char *out = malloc(want + 1);
        assert_non_null(out);
        assert_int_equal(base64_encode(in, n, out), want);
        assert_int_equal(out[want], '\0');
        free(out);
    }
}

static void test_round_trip_every_length_and_byte_value(void **state)
{
    (void)state;
    enum { MAX = 300 };
    unsigned char in[MAX];
    for (size_t i = 0; i < MAX; i++)
        in[i] = (unsigned char)(i * 7 + 3); /* every byte value occurs */
    for (size_t n = 0; n <= MAX; n++) {
        char *enc = malloc(4 * ((n + 2) / 3) + 1);
        assert_non_null(enc);
        size_t elen = base64_encode(in, n, enc);
        unsigned char *dec = malloc(elen / 4 * 3 + 3);
        assert_non_null(dec);
        ssize_t m = base64_decode(enc, elen, dec);
        assert_int_equal(m, (ssize_t)n);
        if (n)
            assert_memory_equal(dec, in, n);
        free(enc);
        free(dec);
    }
}

static void test_round_trip_binary_with_nul_and_high_bytes(void **state)
{
    (void)state;
    const unsigned char in[] = {0x00, 0xff, 0x00, 0xfe, 0x80, 0x7f, 0x00};
    char enc[16];
    size_t elen = base64_encode(in, sizeof in, enc);
    assert_string_equal(enc, "AP8A/oB/AA==");
    unsigned char dec[16];
    assert_int_equal(base64_decode(enc, elen, dec), (ssize_t)sizeof in);
    assert_memory_equal(dec, in, sizeof in);
}

static void test_decode_rejects_length_not_multiple_of_4(void **state)
{
    (void)state;
    assert_rejected("Z");
    assert_rejected("Zg");
    assert_rejected("Zg=");
    assert_rejected("Zm9vY");
    assert_rejected("Zm9vYmFy=");
}

static void test_decode_rejects_invalid_characters(void **state)
{
    (void)state;
    assert_rejected("Zm9!");
    assert_rejected("Zm 9");
    assert_rejected("Z*==");
    assert_rejected("Zm9v\x80\x80\x80\x80");
}

static void test_decode_rejects_url_safe_alphabet(void **state)
{
    (void)state;
    assert_rejected("-_-_");
    assert_rejected("ab_c");
}

static void test_decode_rejects_embedded_nul(void **state)
{
    (void)state;
    unsigned char out[8];
    assert_int_equal(base64_decode("Zg\0=", 4, out), -1);
}

/* Padding may only close the input: "=" then a data character, padding in
 * the middle, or three or four '=' are not base64. */
static void test_decode_rejects_misplaced_padding(void **state)
{
    (void)state;
    assert_rejected("QQ=A");
    assert_rejected("QQ==QQ==");
    assert_rejected("Q===");
    assert_rejected("====");
}

/* The decoder is for whitespace-free input (see base64.c). Trailing blanks
 * are trimmed by EVP_DecodeBlock and then the padding is not subtracted:
 * "QQ==    " decodes to 3 bytes "A\0\0" instead of being refused. */
static void test_decode_rejects_surrounding_whitespace(void **state)
{
    (void)state;
    assert_rejected("QQ==    ");
    assert_rejected("QUJD\r\n\r\n");
    assert_rejected("    QQ==");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_rfc4648_vectors),
        cmocka_unit_test(test_decode_rfc4648_vectors),
        cmocka_unit_test(test_decode_empty_is_zero_bytes),
        cmocka_unit_test(test_encode_writes_the_documented_size),
        cmocka_unit_test(test_round_trip_every_length_and_byte_value),
        cmocka_unit_test(test_round_trip_binary_with_nul_and_high_bytes),
        cmocka_unit_test(test_decode_rejects_length_not_multiple_of_4),
        cmocka_unit_test(test_decode_rejects_invalid_characters),
        cmocka_unit_test(test_decode_rejects_url_safe_alphabet),
        cmocka_unit_test(test_decode_rejects_embedded_nul),
        cmocka_unit_test(test_decode_rejects_misplaced_padding),
        cmocka_unit_test(test_decode_rejects_surrounding_whitespace),
    };
    return cmocka_run_group_tests_name("base64", tests, NULL, NULL);
}
