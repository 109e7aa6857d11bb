#include "util/base64.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <string.h>

size_t base64_encode(const unsigned char *in, size_t n, char *out)
{
    int m = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    out[m] = '\0';
    return (size_t)m;
}

static bool b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

ssize_t base64_decode(const char *in, size_t n, unsigned char *out)
{
    /* Strict: the standard alphabet, '=' only as the last one or two bytes.
     * EVP_DecodeBlock alone skips blanks and maps '=' to zero bits. */
    if (n % 4 != 0)
        return -1;
    if (n == 0)
        return 0;
    size_t pad = in[n - 1] == '=' ? (in[n - 2] == '=' ? 2 : 1) : 0;
    for (size_t i = 0; i < n - pad; i++)
        if (!b64_char(in[i]))
            return -1;
    int m = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (m < 0)
        return -1;
    return m - (int)pad;
}
