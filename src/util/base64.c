#include "util/base64.h"

#include <nettle/base64.h>
#include <stdbool.h>
#include <string.h>

size_t base64_encode(const unsigned char *in, size_t n, char *out)
{
    base64_encode_raw(out, n, in);
    size_t m = BASE64_ENCODE_RAW_LENGTH(n);
    out[m] = '\0';
    return m;
}

static bool b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

ssize_t base64_decode(const char *in, size_t n, unsigned char *out)
{
    /* Strict: the standard alphabet, '=' only as the last one or two bytes
     * (nettle's decoder alone would skip blanks). nettle also refuses a last
     * character whose unused bits are not zero. */
    if (n % 4 != 0)
        return -1;
    if (n == 0)
        return 0;
    size_t pad = in[n - 1] == '=' ? (in[n - 2] == '=' ? 2 : 1) : 0;
    for (size_t i = 0; i < n - pad; i++)
        if (!b64_char(in[i]))
            return -1;
    struct base64_decode_ctx ctx;
    base64_decode_init(&ctx);
    size_t m = n / 4 * 3 + 3;
    if (!base64_decode_update(&ctx, &m, out, n, in) || !base64_decode_final(&ctx))
        return -1;
    return (ssize_t)m;
}
