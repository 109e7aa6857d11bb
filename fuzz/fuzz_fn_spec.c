/* libFuzzer: the JSON function spec of create and update. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/fn_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!j)
        return 0;
    for (int create = 0; create < 2; create++) {
        fn_input_t in;
        char err[512] = "";
        int rc = fn_input_parse(j, create, &in, err, sizeof err);
        if (rc < 0 && !err[0])
            abort(); /* every refusal says why */
        if (rc == 0 && create && (!fn_name_valid(in.cfg.name) || !(in.code || in.zip)))
            abort();
        fn_input_clear(&in);
    }
    json_decref(j);
    return 0;
}
