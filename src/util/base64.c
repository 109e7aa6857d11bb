#include "util/base64.h"

#include <openssl/evp.h>
#include <string.h>

size_t base64_encode(const unsigned char *in, size_t n, char *out)
{
    int m = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    out[m] = '\0';
    return (size_t)m;
}

ssize_t base64_decode(const char *in, size_t n, unsigned char *out)
{
    /* Whitespace-free input only; EVP_DecodeBlock keeps padding bytes, so
     * subtract them ourselves. */
    if (n % 4 != 0)
        return -1;
    if (n == 0)
        return 0;
    int m = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (m < 0)
        return -1;
    if (in[n - 1] == '=')
        m--;
    if (in[n - 2] == '=')
        m--;
    return m;
}
