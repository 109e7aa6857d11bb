/* libFuzzer: what a runtime posts back over the Runtime API (any bytes) as it
 * is turned into the caller's HTTP answer: results and errors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int apigw = 0; apigw < 2; apigw++) {
        http_result_t r;
        if (result_map((const char *)data, size, apigw, &r) == 0) {
            if (r.status < 100 || r.status > 599 || !r.body || !json_is_object(r.headers))
                abort();
            http_result_clear(&r);
        } else if (!r.error) {
            abort();
        }
    }
    char hint[32] = "";
    memcpy(hint, data, size < sizeof hint - 1 ? size : sizeof hint - 1);
    char *out = NULL;
    int status = error_map((const char *)data, size, size % 2 ? hint : NULL, "fuzz-request", &out);
    json_t *j = out ? json_loads(out, 0, NULL) : NULL;
    if ((status != 500 && status != 502) || !json_is_object(j) ||
        !json_is_string(json_object_get(j, "errorType")))
        abort(); /* the caller always gets a well-formed error */
    json_decref(j);
    free(out);
    return 0;
}
