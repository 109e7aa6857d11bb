/* libFuzzer: the API route table on any method and path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const enum evhttp_cmd_type methods[] = {EVHTTP_REQ_GET, EVHTTP_REQ_POST, EVHTTP_REQ_PUT,
                                                   EVHTTP_REQ_DELETE, EVHTTP_REQ_HEAD, EVHTTP_REQ_PATCH};
    char *path = malloc(size);
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';
    route_t r;
    route_match(methods[data[0] % 6], path, &r);
    if (r.id == ROUTE_BAD_METHOD && !r.allow)
        abort();
    free(path);
    return 0;
}
