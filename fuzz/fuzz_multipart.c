/* libFuzzer: the multipart/form-data reader of POST /deploy. The first line
 * of the input is the Content-Type, the rest the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl)
        return 0;
    size_t ctlen = (size_t)(nl - data);
    char *ct = malloc(ctlen + 1);
    memcpy(ct, data, ctlen);
    ct[ctlen] = '\0';
    const char *body = (const char *)nl + 1;
    size_t blen = size - ctlen - 1;
    form_part_t p;
    char err[256] = "";
    int rc = multipart_find(ct, body, blen, "file", &p, err, sizeof err);
    if (rc == 0 && (p.data < body || p.data + p.len > body + blen))
        abort(); /* the part lies inside the body */
    if (rc < 0 && !err[0])
        abort();
    free(ct);
    return 0;
}
