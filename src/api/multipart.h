#pragma once
/* multipart/form-data (RFC 7578), as curl -F sends it: finds one named part. */
#include <stddef.h>

typedef struct form_part {
    const char *data; /* points into the body */
    size_t len;
    char filename[256]; /* "" when the part has none */
} form_part_t;

/* Finds the part called `name` in body, given the request's Content-Type.
 * Returns 0; -1 with err set when the body is not valid multipart or the
 * part is missing. */
int multipart_find(const char *content_type, const char *body, size_t len, const char *name,
                   form_part_t *out, char *err, size_t errlen);
